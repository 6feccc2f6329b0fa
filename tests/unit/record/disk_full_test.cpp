// A full and a slow spool, through the FileIo seam: the recording pauses and
// resumes with valid clips on each side of the gap, and a slow disk never
// makes the media worker's hand-over wait.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

extern "C" {
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <thread>
#include <utility>

#include "record/recording_service.hpp"
#include "record/stream_recorder.hpp"
#include "rtp_packet_builder.hpp"

namespace lss::record {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A disk that can fill up (a write gets half its bytes down, then ENOSPC, as
// write(2) does when the last blocks go) or crawl (each write sleeps).
class FakeDisk : public FileIo {
 public:
  std::atomic<bool> full{false};
  std::atomic<int> delay_ms{0};
  std::atomic<int> writes{0}, failed{0};

  // Armed: the next clip's header (an EBML header) reaches the disk whole,
  // then only a few bytes of its first cluster, and the disk is full.
  std::atomic<bool> full_after_next_header{false};

  int write(int fd, const uint8_t* data, size_t size) override {
    writes++;
    if (const int ms = delay_ms.load()) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    static constexpr uint8_t kEbml[] = {0x1a, 0x45, 0xdf, 0xa3};
    if (full_after_next_header && size >= 4 && std::equal(kEbml, kEbml + 4, data)) {
      full_after_next_header = false;
      const int err = FileIo::write(fd, data, size);
      full = true;
      partial_ = 10;
      return err;
    }
    if (full) {
      if (partial_) {
        failed++;
        (void)FileIo::write(fd, data, std::min(size, std::exchange(partial_, size_t(0))));
        return ENOSPC;
      }
      failed++;
      (void)FileIo::write(fd, data, size / 2);
      return ENOSPC;
    }
    return FileIo::write(fd, data, size);
  }

 private:
  size_t partial_ = 0;  // bytes the next failing write still gets down
};

using test::rtp;

const Bytes kKey = {0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0xaa};
const Bytes kDelta = {0x10, 0x51, 0x42, 0x00, 0x01, 0x02};
const Bytes kOpus = {0xf8, 0xff, 0xfe};

struct Demuxed {
  bool ok = false;  // read to the end without an error
  int video = 0, audio = 0;
  bool first_video_key = false;
};

Demuxed demux(const std::string& path) {
  Demuxed d;
  AVFormatContext* in = nullptr;
  if (avformat_open_input(&in, path.c_str(), nullptr, nullptr) < 0) return d;
  avformat_find_stream_info(in, nullptr);
  AVPacket* pkt = av_packet_alloc();
  int rc;
  while ((rc = av_read_frame(in, pkt)) >= 0) {
    if (pkt->flags & AV_PKT_FLAG_CORRUPT) break;
    if (in->streams[pkt->stream_index]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
      if (d.video++ == 0) d.first_video_key = pkt->flags & AV_PKT_FLAG_KEY;
    } else {
      d.audio++;
    }
    av_packet_unref(pkt);
  }
  d.ok = rc == AVERROR_EOF;
  av_packet_free(&pkt);
  avformat_close_input(&in);
  return d;
}

// Log lines containing `what`, from the ring the test logs into.
int count_lines(spdlog::sinks::ringbuffer_sink_mt& sink, const std::string& what) {
  int n = 0;
  for (const auto& line : sink.last_formatted()) n += line.find(what) != std::string::npos;
  return n;
}

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lss_full_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    saved_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", log_));
  }
  void TearDown() override {
    spdlog::set_default_logger(saved_);
    fs::remove_all(dir_);
  }
  RecorderOptions options(const std::string& id, std::vector<RecordedTrack> tracks,
                          FakeDisk& disk) {
    RecorderOptions o;
    o.spool_dir = dir_.string();
    o.stream_name = "cam";
    o.stream_id = id;
    o.started = std::chrono::system_clock::now();
    o.tracks = std::move(tracks);
    o.io = &disk;
    return o;
  }
  fs::path dir_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::shared_ptr<spdlog::logger> saved_;
};

TEST_F(DiskFull, PausesWithOneLineAndResumesWithANewClipAtAKeyframe) {
  FakeDisk disk;
  RecordingStats stats;
  RecorderOptions o = options("full1", {{true, "VP8", 90000}, {false, "opus", 48000}}, disk);
  o.stats = &stats;
  std::vector<ClipInfo> clips;
  StreamRecorder rec(o, [&](const ClipInfo& c) { clips.push_back(c); });

  const Timestamp t0 = Clock::now();
  uint16_t vseq = 1, aseq = 1;
  // 30 fps video, a keyframe a second (the recorder's requests are not
  // answered here), an Opus packet a frame; the disk is full from 3 s to
  // 7 s, and the stream goes on to 10 s.
  bool saw_paused = false;
  for (int i = 0; i < 300; ++i) {
    const Timestamp at = t0 + std::chrono::milliseconds(i * 100 / 3);
    disk.full = i >= 90 && i < 210;
    Bytes v = rtp(96, vseq++, uint32_t(i * 3000), true, i % 30 == 0 ? kKey : kDelta);
    rec.on_packet(0, v.data(), v.size(), at);
    Bytes a = rtp(111, aseq++, uint32_t(i * 1600), false, kOpus);
    rec.on_packet(1, a.data(), a.size(), at);
    if (i == 200) {
      saw_paused = rec.paused();
      EXPECT_EQ(stats.paused.load(), 1);
    }
  }
  EXPECT_TRUE(saw_paused);
  EXPECT_FALSE(rec.paused());
  EXPECT_EQ(stats.paused.load(), 0);
  rec.finish();

  EXPECT_EQ(count_lines(*log_, "recording of stream 'cam' paused: no space left on device (" +
                                   dir_.string() + ")"),
            1);
  EXPECT_EQ(count_lines(*log_, "recording of stream 'cam' resumed"), 1);
  // Retries are a second apart: the pause, then about one a second.
  EXPECT_GE(stats.write_errors.load(), 2u);
  EXPECT_LE(stats.write_errors.load(), 6u);
  EXPECT_GT(rec.frames_not_recorded(), 100u);
  EXPECT_EQ(stats.frames_not_recorded.load(), rec.frames_not_recorded());

  // The clip the disk cut plays up to the gap; the next starts at a keyframe after it.
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0].index, 0);
  EXPECT_EQ(clips[1].index, 1);
  for (const auto& c : clips) {
    EXPECT_TRUE(fs::exists(c.file + ".json")) << c.file;
    EXPECT_FALSE(fs::exists(c.file + ".part")) << c.file;
    const Demuxed d = demux(c.file);
    EXPECT_TRUE(d.ok) << c.file;
    EXPECT_TRUE(d.first_video_key) << c.file;
    EXPECT_EQ(uint64_t(d.video), c.video_frames) << c.file;
    EXPECT_GT(d.audio, 0) << c.file;
  }
  const Demuxed before = demux(clips[0].file), after = demux(clips[1].file);
  EXPECT_GT(before.video, 45);  // most of the 90 frames before the disk filled
  EXPECT_LE(before.video, 90);
  EXPECT_GE(after.video, 60);  // from the keyframe at 7 s or 8 s to the end
  EXPECT_LE(after.video, 90);
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    if (e.is_regular_file()) left.push_back(e.path().filename().string());
  }
  EXPECT_EQ(left.size(), 4u);  // two clips, two sidecars: no .part, no half remux
}

TEST_F(DiskFull, AStreamEndingWhilePausedStillFinishesTheCutClip) {
  FakeDisk disk;
  RecorderOptions o = options("full2", {{true, "VP8", 90000}}, disk);
  int clips = 0;
  {
    StreamRecorder rec(o, [&](const ClipInfo&) { clips++; });
    const Timestamp t0 = Clock::now();
    for (int i = 0; i < 60; ++i) {
      disk.full = i >= 40;
      Bytes v = rtp(96, uint16_t(i + 1), uint32_t(i * 3000), true, i % 30 == 0 ? kKey : kDelta);
      rec.on_packet(0, v.data(), v.size(), t0 + std::chrono::milliseconds(i * 33));
    }
    EXPECT_TRUE(rec.paused());
    // The real disk has room: the stream's end finishes the cut clip.
    rec.finish();
  }
  EXPECT_EQ(clips, 1);
  EXPECT_EQ(count_lines(*log_, "paused"), 1);
}

TEST_F(DiskFull, FailingFromTheFirstClipNeverPublishesAnEmptyOne) {
  FakeDisk disk;
  disk.full = true;
  RecorderOptions o = options("full3", {{true, "VP8", 90000}}, disk);
  int clips = 0;
  StreamRecorder rec(o, [&](const ClipInfo&) { clips++; });
  const Timestamp t0 = Clock::now();
  for (int i = 0; i < 150; ++i) {
    Bytes v = rtp(96, uint16_t(i + 1), uint32_t(i * 3000), true, i % 30 == 0 ? kKey : kDelta);
    rec.on_packet(0, v.data(), v.size(), t0 + std::chrono::milliseconds(i * 33));
  }
  EXPECT_TRUE(rec.paused());
  rec.finish();
  EXPECT_EQ(clips, 0);
  EXPECT_EQ(count_lines(*log_, "paused"), 1);
  EXPECT_LE(disk.failed.load(), 6);  // one try a second, not one a frame
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    EXPECT_FALSE(e.is_regular_file()) << e.path();
  }
}

// The disk fills up right after a new clip's header: its file holds no
// whole frame (the muxer had them all in memory), so nothing of it is
// published and the next clip takes its number.
TEST_F(DiskFull, AClipCutBeforeItsFirstFrameIsDroppedAndItsNumberReused) {
  FakeDisk disk;
  RecorderOptions o = options("full4", {{true, "VP8", 90000}, {false, "opus", 48000}}, disk);
  o.limits.max_duration_ms = 2000;
  std::vector<ClipInfo> clips;
  StreamRecorder rec(o, [&](const ClipInfo& c) { clips.push_back(c); });
  const Timestamp t0 = Clock::now();
  uint16_t vseq = 1, aseq = 1;
  // Clip 0 is cut at the keyframe at 2 s; the disk has room again at 5 s.
  for (int i = 0; i < 240; ++i) {
    const Timestamp at = t0 + std::chrono::milliseconds(i * 100 / 3);
    if (i == 59) disk.full_after_next_header = true;
    if (i == 150) disk.full = false;
    Bytes v = rtp(96, vseq++, uint32_t(i * 3000), true, i % 30 == 0 ? kKey : kDelta);
    rec.on_packet(0, v.data(), v.size(), at);
    Bytes a = rtp(111, aseq++, uint32_t(i * 1600), false, kOpus);
    rec.on_packet(1, a.data(), a.size(), at);
  }
  rec.finish();
  EXPECT_EQ(count_lines(*log_, "recording 'cam': clip 1 dropped: no whole frame reached the disk"),
            1);
  EXPECT_EQ(count_lines(*log_, "paused"), 1);
  EXPECT_EQ(count_lines(*log_, "resumed"), 1);
  ASSERT_GE(clips.size(), 2u);
  for (size_t i = 0; i < clips.size(); ++i) {
    EXPECT_EQ(clips[i].index, int(i));  // no hole where the dropped clip was
    const Demuxed d = demux(clips[i].file);
    EXPECT_TRUE(d.ok) << clips[i].file;
    EXPECT_GT(d.video, 0) << clips[i].file;
    EXPECT_EQ(uint64_t(d.video), clips[i].video_frames) << clips[i].file;
  }
  EXPECT_EQ(clips[0].video_frames, 60u);
  size_t files = 0;  // each clip and its sidecar: no .part, no half remux
  for (const auto& e : fs::recursive_directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 2 * clips.size());
}

// Every write takes 200 ms: the recording thread falls behind, the ring
// fills, and the media worker's push still returns at once, counting drops.
TEST_F(DiskFull, ASlowDiskNeverBlocksTheMediaWorker) {
  FakeDisk disk;
  disk.delay_ms = 200;
  RecordingService service(dir_.string(), {0, 0}, nullptr, disk);
  auto sink = service.start("slow", "s1", {{true, "VP8", 90000}});
  const Timestamp t0 = Clock::now();
  auto longest = Duration::zero();
  uint32_t pushed = 0;
  // 1.5 s of pushing, 20 packets a millisecond (media time runs far ahead
  // of the clock, so the recorder has a cluster to write every few ms).
  while (Clock::now() - t0 < 1500ms) {
    for (int k = 0; k < 20; ++k, ++pushed) {
      Bytes v =
          rtp(96, uint16_t(pushed + 1), pushed * 3000, true, pushed % 30 == 0 ? kKey : kDelta);
      const Timestamp before = Clock::now();
      sink->ring.push(0, v.data(), v.size(), before);
      longest = std::max(longest, Clock::now() - before);
    }
    std::this_thread::sleep_for(1ms);
  }
  // A wait on the disk would be 200 ms; a busy machine may preempt a push
  // for a few ms, never for most of a write.
  EXPECT_LT(longest, 100ms);
  EXPECT_GT(disk.writes.load(), 2);
  EXPECT_GT(sink->ring.dropped(), pushed / 4);
  disk.delay_ms = 0;  // let stop() drain what is left quickly
  sink->closed = true;
  service.stop();
  EXPECT_EQ(service.stats().packets_dropped.load(), sink->ring.dropped());
}

}  // namespace
}  // namespace lss::record
