// What a crash leaves of a clip being written, and what recovery makes of it.
// A kill -9 stops the writer between two of its write(2) calls: a copy of the
// .part file taken between two frames is exactly what it leaves. A power cut
// (or a kill between the writes of one large cluster) cuts anywhere: the file
// truncated at arbitrary byte offsets. Every frame carries its own track,
// index and length, so a frame read back can be checked whole.
#include <gtest/gtest.h>

extern "C" {
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "record/clip_writer.hpp"

namespace lss::record {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kVideoStepMs = 33, kAudioStepMs = 20;
constexpr size_t kVideo = 0, kAudio = 1;
// Browsers send keyframes seldom (when asked): clusters cannot lean on them.
constexpr uint32_t kKeyframeEvery = 150;

size_t frame_size(size_t track, uint32_t index) {
  if (track == kAudio) return 60 + index % 40;
  return index % kKeyframeEvery == 0 ? 6000 : 400 + index * 37 % 1600;
}

uint8_t fill(size_t track, uint32_t index, size_t at) {
  return uint8_t(index * 7 + track * 101 + at);
}

// [TOC-ish first byte][track][index, 4 bytes big-endian][fill...]
Bytes make_frame(size_t track, uint32_t index) {
  Bytes f(frame_size(track, index));
  f[0] = track == kAudio ? 0xf8 : 0x10;
  f[1] = uint8_t(track);
  for (int i = 0; i < 4; ++i) f[2 + i] = uint8_t(index >> (24 - 8 * i));
  for (size_t i = 6; i < f.size(); ++i) f[i] = fill(track, index, i);
  return f;
}

// The frame's index if `data` is exactly frame (track, index), else -1.
int64_t whole_frame_index(size_t track, const uint8_t* data, size_t size) {
  if (size < 6 || data[1] != track) return -1;
  uint32_t index = 0;
  for (int i = 0; i < 4; ++i) index = (index << 8) | data[2 + i];
  if (size != frame_size(track, index)) return -1;
  for (size_t i = 6; i < size; ++i) {
    if (data[i] != fill(track, index, i)) return -1;
  }
  return index;
}

struct ReadBack {
  bool opened = false;
  bool whole = true;  // every frame whole, and each track's frames in order with no gap
  int64_t frames[2] = {};
  int64_t last_pts_ms[2] = {-1, -1};
  double duration_s = 0;  // the container's (what ffprobe shows)
};

ReadBack read_back(const std::string& path) {
  ReadBack r;
  AVFormatContext* in = nullptr;
  if (avformat_open_input(&in, path.c_str(), nullptr, nullptr) < 0) return r;
  r.opened = true;
  avformat_find_stream_info(in, nullptr);
  if (in->duration > 0) r.duration_s = double(in->duration) / AV_TIME_BASE;
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(in, pkt) >= 0) {
    const size_t track = size_t(pkt->stream_index);
    if (track > kAudio || (pkt->flags & AV_PKT_FLAG_CORRUPT) ||
        whole_frame_index(track, pkt->data, size_t(pkt->size)) != r.frames[track]) {
      r.whole = false;
    } else {
      r.frames[track]++;
      r.last_pts_ms[track] =
          av_rescale_q(pkt->pts, in->streams[track]->time_base, AVRational{1, 1000});
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&in);
  return r;
}

class CrashTruncationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lss_crash_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `ms` of VP8 + Opus in presentation order, as the recorder does,
  // calling after_video(index, pts) after each video frame.
  template <typename F>
  void write_clip(ClipWriter& w, int64_t ms, F&& after_video) {
    uint32_t v = 0, a = 0;
    while (int64_t(v) * kVideoStepMs < ms || int64_t(a) * kAudioStepMs < ms) {
      const int64_t vpts = int64_t(v) * kVideoStepMs, apts = int64_t(a) * kAudioStepMs;
      if (vpts <= apts && vpts < ms) {
        ASSERT_TRUE(w.write(kVideo, make_frame(kVideo, v), vpts, v % kKeyframeEvery == 0).ok());
        after_video(v++, vpts);
      } else {
        ASSERT_TRUE(w.write(kAudio, make_frame(kAudio, a++), apts, true).ok());
      }
    }
  }

  std::unique_ptr<ClipWriter> open(const std::string& path) {
    auto w = ClipWriter::open(path, {{true, "VP8", 640, 480, {}}, {false, "opus", 0, 0, {}}});
    EXPECT_TRUE(w.ok()) << w.error().message;
    return w.ok() ? std::move(w.value()) : nullptr;
  }

  fs::path dir_;
};

TEST_F(CrashTruncationTest, AKillAtAnyFrameLosesAtMostOneShortCluster) {
  const std::string part = (dir_ / "0.webm.part").string();
  auto w = open(part);
  ASSERT_TRUE(w);
  // A copy of the file after every 11th video frame (~0.36 s): what a kill
  // at that moment would leave behind.
  std::vector<std::pair<fs::path, int64_t>> snapshots;
  write_clip(*w, 10000, [&](uint32_t index, int64_t pts) {
    if (index % 11 != 5) return;
    const fs::path copy = dir_ / ("snap-" + std::to_string(index) + ".webm.part");
    fs::copy_file(part, copy);
    snapshots.emplace_back(copy, pts);
  });
  ASSERT_TRUE(w->finish().ok());
  ASSERT_GT(snapshots.size(), 20u);
  for (const auto& [copy, written_ms] : snapshots) {
    SCOPED_TRACE(copy.filename().string() + " written " + std::to_string(written_ms) + " ms");
    const std::string fixed = copy.string() + ".webm";
    const auto st = remux_clip(copy.string(), fixed);
    if (written_ms < ClipWriter::kClusterMs + kVideoStepMs) continue;  // maybe nothing yet
    ASSERT_TRUE(st.ok()) << st.message();
    const ReadBack r = read_back(fixed);
    ASSERT_TRUE(r.opened);
    EXPECT_TRUE(r.whole);
    // At most the cluster being built is lost (plus the frame that closes
    // it, and the one audio frame the WebM muxer holds back).
    EXPECT_GE(r.last_pts_ms[kVideo], written_ms - ClipWriter::kClusterMs - 2 * kVideoStepMs);
    EXPECT_GE(r.duration_s, double(written_ms) / 1000.0 - 1.0);
    EXPECT_GT(r.duration_s, 0);
  }
}

TEST_F(CrashTruncationTest, ACutAtAnyByteRecoversWholeFramesOnly) {
  const std::string part = (dir_ / "0.webm.part").string();
  const fs::path cut = dir_ / "cut.webm.part";
  auto w = open(part);
  ASSERT_TRUE(w);
  // The file as it stood mid-write (no index, no sizes patched in yet).
  write_clip(*w, 5000, [&](uint32_t index, int64_t) {
    if (index == 140) fs::copy_file(part, cut);
  });
  ASSERT_TRUE(w->finish().ok());
  std::ifstream f(cut, std::ios::binary);
  const Bytes bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  ASSERT_GT(bytes.size(), 100000u);

  // Every ~1/150 of the file, and right around each cluster's start (its ID
  // 1F 43 B6 75), where a cut leaves a cluster with no block or a block
  // with no payload.
  std::vector<size_t> offsets;
  for (size_t at = 0; at < bytes.size(); at += bytes.size() / 150) offsets.push_back(at);
  const uint8_t cluster_id[] = {0x1f, 0x43, 0xb6, 0x75};
  for (auto it = bytes.begin(); (it = std::search(it, bytes.end(), std::begin(cluster_id),
                                                  std::end(cluster_id))) != bytes.end();
       ++it) {
    const size_t at = size_t(it - bytes.begin());
    for (size_t d : {size_t(1), size_t(0)}) offsets.push_back(at - d);
    for (size_t d : {1, 2, 4, 10, 16, 30, 200}) offsets.push_back(at + d);
  }
  offsets.push_back(bytes.size());
  std::sort(offsets.begin(), offsets.end());

  int64_t recovered_before = 0;
  for (size_t at : offsets) {
    SCOPED_TRACE("cut at byte " + std::to_string(at) + " of " + std::to_string(bytes.size()));
    fs::copy_file(cut, dir_ / "t.part", fs::copy_options::overwrite_existing);
    fs::resize_file(dir_ / "t.part", at);
    const std::string fixed = (dir_ / "t.webm").string();
    fs::remove(fixed);
    if (!remux_clip((dir_ / "t.part").string(), fixed).ok()) continue;  // nothing to keep
    const ReadBack r = read_back(fixed);
    if (!r.opened) continue;
    EXPECT_TRUE(r.whole);
    if (r.frames[kVideo] > 0) {
      EXPECT_GT(r.duration_s, 0);
    }
    // A longer file never recovers less.
    EXPECT_GE(r.frames[kVideo] + r.frames[kAudio], recovered_before);
    recovered_before = r.frames[kVideo] + r.frames[kAudio];
  }
  // The whole snapshot comes back with all but the cluster in progress.
  EXPECT_GE(recovered_before, 100);
}

TEST_F(CrashTruncationTest, TheFileIsSyncedEveryFewSecondsOfMedia) {
  const std::string path = (dir_ / "s.webm.part").string();
  auto w = open(path);
  ASSERT_TRUE(w);
  write_clip(*w, 10000, [](uint32_t, int64_t) {});
  // One at the first cluster end past each kSyncMs: 2, 4, 6, 8 s (10 s may
  // still be in the cluster being built).
  EXPECT_GE(w->syncs(), uint64_t(10000 / ClipWriter::kSyncMs - 1));
  EXPECT_LE(w->syncs(), uint64_t(10000 / ClipWriter::kSyncMs));
  const uint64_t before = w->syncs();
  ASSERT_TRUE(w->finish().ok());
  EXPECT_EQ(w->syncs(), before + 1);  // the finished clip is on disk before it is queued
}

}  // namespace
}  // namespace lss::record
