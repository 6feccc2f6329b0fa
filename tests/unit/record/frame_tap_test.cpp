// The recorder's FrameTap: every frame reaches it, with or without clips,
// and it can ask for keyframes.
#include <gtest/gtest.h>

#include <filesystem>

#include "record/stream_recorder.hpp"
#include "rtp_packet_builder.hpp"

namespace lss::record {
namespace {
using test::rtp;

namespace fs = std::filesystem;

struct CountingTap : FrameTap {
  int video = 0, audio = 0, keyframes = 0, ends = 0;  // keyframes: of the video
  bool want = false;
  void on_frame(size_t track, ByteSpan, int64_t, bool keyframe) override {
    (track == 0 ? video : audio)++;
    if (track == 0) keyframes += keyframe;
  }
  bool keyframe_wanted() override { return want; }
  void end() override { ++ends; }
};

struct FeedResult {
  int clips = 0;
};

FeedResult feed(RecorderOptions o, int frames) {
  FeedResult r;
  StreamRecorder rec(o, [&](const ClipInfo&) { r.clips++; });
  const Bytes key = {0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0xaa};
  const Bytes delta = {0x10, 0x51, 0x42, 0x00, 0x01, 0x02};
  const Bytes opus = {0xf8, 0xff, 0xfe};
  const Timestamp t0 = Clock::now();
  uint16_t vseq = 1, aseq = 1;
  for (int i = 0; i < frames; ++i) {
    const Timestamp at = t0 + std::chrono::milliseconds(i * 33);
    Bytes v = rtp(96, vseq++, uint32_t(3000 + i * 3000), true, i % 15 == 0 ? key : delta);
    rec.on_packet(0, v.data(), v.size(), at);
    Bytes a = rtp(111, aseq++, uint32_t(i * 960), false, opus);
    rec.on_packet(1, a.data(), a.size(), at);
  }
  rec.finish();
  return r;
}

RecorderOptions options(const fs::path& dir, std::shared_ptr<FrameTap> tap, bool clips) {
  RecorderOptions o;
  o.spool_dir = dir.string();
  o.stream_name = "cam";
  o.stream_id = "abc";
  o.started = std::chrono::system_clock::now();
  o.tracks = {{true, "VP8", 90000}, {false, "opus", 48000}};
  o.tap = std::move(tap);
  o.write_clips = clips;
  return o;
}

TEST(FrameTap, SeesEveryFrameAlongsideClips) {
  const fs::path dir = fs::temp_directory_path() / ("lss_tap_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto tap = std::make_shared<CountingTap>();
  const FeedResult r = feed(options(dir, tap, true), 60);
  EXPECT_EQ(r.clips, 1);
  // The depacketizer holds nothing back at the end but the last frame of
  // each track, which only the next packet completes (as for the clips).
  EXPECT_GE(tap->video, 59);
  EXPECT_GE(tap->audio, 59);
  EXPECT_EQ(tap->keyframes, 4);
  EXPECT_EQ(tap->ends, 1);  // finish() and the destructor: once
  fs::remove_all(dir);
}

TEST(FrameTap, WithoutClipsNothingIsWritten) {
  const fs::path dir = fs::temp_directory_path() / ("lss_tap2_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto tap = std::make_shared<CountingTap>();
  const FeedResult r = feed(options(dir, tap, false), 60);
  EXPECT_EQ(r.clips, 0);
  EXPECT_GE(tap->video, 59);
  EXPECT_EQ(tap->ends, 1);
  EXPECT_FALSE(fs::exists(dir / "cam"));
  fs::remove_all(dir);
}

TEST(FrameTap, AsksForKeyframes) {
  auto tap = std::make_shared<CountingTap>();
  StreamRecorder rec(options(fs::temp_directory_path(), tap, false), nullptr);
  EXPECT_TRUE(rec.keyframe_wanted());  // its own, to start
  rec.keyframe_requested();
  EXPECT_FALSE(rec.keyframe_wanted());
  tap->want = true;
  EXPECT_TRUE(rec.keyframe_wanted());
}

}  // namespace
}  // namespace lss::record
