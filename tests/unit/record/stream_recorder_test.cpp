#include "record/stream_recorder.hpp"

#include <gtest/gtest.h>

extern "C" {
#include <libavformat/avformat.h>
}

#include <filesystem>
#include <fstream>

#include "record/clip_policy.hpp"
#include "record/reorder_buffer.hpp"
#include "rtp_packet_builder.hpp"

namespace lss::record {
namespace {

namespace fs = std::filesystem;

using test::rtp;

int64_t count_packets(const std::string& path, int* video_keyframes_first = nullptr) {
  AVFormatContext* in = nullptr;
  if (avformat_open_input(&in, path.c_str(), nullptr, nullptr) < 0) return -1;
  avformat_find_stream_info(in, nullptr);
  int64_t n = 0;
  AVPacket* pkt = av_packet_alloc();
  bool first_video = true;
  while (av_read_frame(in, pkt) >= 0) {
    if (in->streams[pkt->stream_index]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
      ++n;
      if (first_video && video_keyframes_first)
        *video_keyframes_first = (pkt->flags & AV_PKT_FLAG_KEY) ? 1 : 0;
      first_video = false;
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&in);
  return n;
}

TEST(ClipPolicy, CutsAtTheFirstStartableFrameAfterALimit) {
  ClipPolicy p({0, 1000});
  EXPECT_FALSE(p.should_cut(100, 999, true));
  EXPECT_FALSE(p.should_cut(100, 1000, false));  // over, but not a keyframe
  EXPECT_TRUE(p.keyframe_wanted());
  EXPECT_TRUE(p.should_cut(100, 1100, true));
  EXPECT_FALSE(p.keyframe_wanted());
  ClipPolicy size({5000, 0});
  EXPECT_FALSE(size.should_cut(4999, 100000, true));
  EXPECT_TRUE(size.should_cut(5000, 0, true));
  ClipPolicy none({0, 0});
  EXPECT_FALSE(none.should_cut(1ull << 40, 1ll << 40, true));
}

TEST(ReorderBuffer, RestoresOrderAndSkipsLostPackets) {
  ReorderBuffer rb;
  std::vector<uint16_t> got;
  auto out = [&](uint16_t seq, const uint8_t*, size_t) { got.push_back(seq); };
  const uint8_t x[1] = {0};
  for (uint16_t s : {65534, 0, 65535, 1, 3}) rb.push(s, x, 1, out);  // wraps, 2 missing
  EXPECT_EQ(got, (std::vector<uint16_t>{65534, 65535, 0, 1}));
  for (uint16_t s = 4; s < 4 + ReorderBuffer::kWindow; ++s) rb.push(s, x, 1, out);
  ASSERT_GT(got.size(), 5u);
  EXPECT_EQ(got[4], 3);   // 2 was given up on
  rb.push(2, x, 1, out);  // too late now
  EXPECT_EQ(std::count(got.begin(), got.end(), 2), 0);
}

TEST(StreamRecorder, CutsClipsAtKeyframesWithoutLosingFrames) {
  const fs::path dir = fs::temp_directory_path() / ("lss_rec_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  RecorderOptions o;
  o.spool_dir = dir.string();
  o.stream_name = "cam";
  o.stream_id = "abc";
  o.started = std::chrono::system_clock::now();
  o.limits = {0, 1000};
  o.tracks = {{true, "VP8", 90000}, {false, "opus", 48000}};
  std::vector<ClipInfo> clips;
  StreamRecorder rec(o, [&](const ClipInfo& c) { clips.push_back(c); });

  const Bytes key = {0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0xaa};
  const Bytes delta = {0x10, 0x51, 0x42, 0x00, 0x01, 0x02};
  const Bytes opus = {0xf8, 0xff, 0xfe};
  const Timestamp t0 = Clock::now();
  uint16_t vseq = 1, aseq = 1;
  int pushed_video = 0;
  // 3.5 s at 30 fps, a keyframe every 15 frames; 50 Opus packets a second.
  rec.on_packet(0, rtp(96, vseq++, 0, true, delta).data(), 18, t0);  // delta before any keyframe
  for (int i = 0; i < 105; ++i) {
    const Timestamp at = t0 + std::chrono::milliseconds(i * 33);
    Bytes v = rtp(96, vseq++, uint32_t(3000 + i * 3000), true, i % 15 == 0 ? key : delta);
    rec.on_packet(0, v.data(), v.size(), at);
    ++pushed_video;
    for (int k = 0; k < 2 && i * 2 + k < 175; ++k) {
      Bytes a = rtp(111, aseq++, uint32_t((i * 2 + k) * 960), false, opus);
      rec.on_packet(1, a.data(), a.size(), at);
    }
  }
  rec.finish();
  ASSERT_GE(clips.size(), 3u);
  uint64_t video_total = 0;
  for (size_t i = 0; i < clips.size(); ++i) {
    const ClipInfo& c = clips[i];
    EXPECT_EQ(c.index, int(i));
    EXPECT_TRUE(fs::exists(c.file)) << c.file;
    EXPECT_TRUE(fs::exists(c.file + ".json"));
    EXPECT_EQ(c.object_key.rfind("cam/", 0), 0u);
    EXPECT_EQ(c.width, 640);
    EXPECT_EQ(c.video_codec, "VP8");
    EXPECT_EQ(c.audio_codec, "opus");
    int first_is_key = -1;
    EXPECT_EQ(count_packets(c.file, &first_is_key), int64_t(c.video_frames));
    EXPECT_EQ(first_is_key, 1) << "clip " << i << " starts with a keyframe";
    if (i + 1 < clips.size()) EXPECT_NEAR(c.duration_s, 1.0, 0.55);
    video_total += c.video_frames;
  }
  EXPECT_EQ(video_total, uint64_t(pushed_video));  // no gap, no duplicate
  EXPECT_EQ(rec.frames_dropped(), 1u);             // only the delta before the first keyframe
  fs::remove_all(dir);
}

// Video arrives 300 ms later than the audio captured at the same instant (a
// slower path); sender reports put both on the sender's clock, so the clip
// has them in sync anyway.
TEST(StreamRecorder, SenderReportsAlignAudioAndVideo) {
  const fs::path dir = fs::temp_directory_path() / ("lss_sync_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  RecorderOptions o;
  o.spool_dir = dir.string();
  o.stream_name = "sync";
  o.stream_id = "s1";
  o.started = std::chrono::system_clock::now();
  o.tracks = {{true, "VP8", 90000}, {false, "opus", 48000}};
  std::vector<ClipInfo> clips;
  StreamRecorder rec(o, [&](const ClipInfo& c) { clips.push_back(c); });
  const Bytes key = {0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0xaa};
  const Bytes opus = {0xf8, 0xff, 0xfe};
  const Timestamp t0 = Clock::now();
  const uint32_t v0 = 123456789, a0 = 987654;  // unrelated random bases
  const uint64_t ntp0 = uint64_t(3900000000u) << 32;
  const auto lag = std::chrono::milliseconds(300);
  // Instant i (100 ms apart): audio ts a0 + 4800 i, video ts v0 + 9000 i.
  for (int i = 0; i < 30; ++i) {
    const Timestamp at = t0 + std::chrono::milliseconds(100 * i);
    Bytes a = rtp(111, uint16_t(i + 1), a0 + 4800u * uint32_t(i), false, opus);
    rec.on_packet(1, a.data(), a.size(), at);
    Bytes v = rtp(96, uint16_t(i + 1), v0 + 9000u * uint32_t(i), true, key);
    rec.on_packet(0, v.data(), v.size(), at + lag);
    if (i == 2) {  // both tracks report instant 2
      const uint64_t ntp = ntp0 + (uint64_t(200) << 32) / 1000;
      rec.on_sender_report(1, ntp, a0 + 4800u * 2, at);
      rec.on_sender_report(0, ntp, v0 + 9000u * 2, at + lag);
    }
  }
  rec.finish();
  ASSERT_EQ(clips.size(), 1u);
  AVFormatContext* in = nullptr;
  ASSERT_GE(avformat_open_input(&in, clips[0].file.c_str(), nullptr, nullptr), 0);
  avformat_find_stream_info(in, nullptr);
  std::vector<int64_t> vpts, apts;
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(in, pkt) >= 0) {
    const AVStream* st = in->streams[pkt->stream_index];
    const int64_t ms = av_rescale_q(pkt->pts, st->time_base, AVRational{1, 1000});
    (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO ? vpts : apts).push_back(ms);
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&in);
  // After the reports (instants 3..29), video i and audio i share a time.
  ASSERT_GE(vpts.size(), 20u);
  const size_t vn = vpts.size(), an = apts.size();
  for (size_t k = 1; k <= 10; ++k)
    EXPECT_NEAR(double(vpts[vn - k]), double(apts[an - k]), 5.0) << k;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lss::record
