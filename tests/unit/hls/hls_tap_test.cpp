// HlsTap: frames reach the HlsStream, keyframes are asked for about once
// per segment target.
#include "hls/hls_tap.hpp"

#include <gtest/gtest.h>

#include "media_fixture.hpp"

namespace lss::hls {
namespace {
using namespace lss::hls::testing;

TEST(KeyframeCadence, AsksBeforeTheTargetAndRetries) {
  KeyframeCadence c(2000, 300, 500);
  c.on_video_frame(0, false);
  EXPECT_FALSE(c.due());  // no keyframe yet: the recorder asks by itself
  c.on_video_frame(100, true);
  c.on_video_frame(1700, false);
  EXPECT_FALSE(c.due());
  c.on_video_frame(1800, false);
  EXPECT_TRUE(c.due());
  EXPECT_FALSE(c.due());  // once
  c.on_video_frame(2200, false);
  EXPECT_FALSE(c.due());
  c.on_video_frame(2300, false);
  EXPECT_TRUE(c.due());  // none came: again after retry_ms
  c.on_video_frame(2333, true);
  c.on_video_frame(4000, false);
  EXPECT_FALSE(c.due());
  c.on_video_frame(4033, false);
  EXPECT_TRUE(c.due());
}

TEST(HlsTap, FeedsTheStreamAndEndsIt) {
  const Clip clip = load_clip();
  HlsOptions o;
  o.session = "s1";
  auto stream = std::make_shared<HlsStream>(o);
  ASSERT_TRUE(stream->start(clip.tracks).ok());
  int ended = 0;
  HlsTap tap(stream, "cam", 1000, [&] { ++ended; });
  tap.set_video_track(0);
  bool asked = false;
  for (const auto& f : looped(clip, 2)) {
    tap.on_frame(f.track, f.data, f.pts_ms, f.keyframe);
    asked |= tap.keyframe_wanted();
  }
  EXPECT_TRUE(asked);  // keyframes every 1.5 s: 0.7 s after one, it asks
  EXPECT_TRUE(stream->live());
  tap.end();
  EXPECT_FALSE(stream->live());
  EXPECT_EQ(ended, 1);
  HlsRequest playlist;
  auto r = stream->serve(playlist, Clock::now(), [](HlsResponse) {});
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->text->find("#EXT-X-ENDLIST"), std::string::npos);
}

TEST(HlsTap, WithoutAStreamOnlyReportsTheEnd) {
  int ended = 0;
  HlsTap tap(nullptr, "cam", 2000, [&] { ++ended; });
  const Bytes frame = {1, 2, 3};
  tap.on_frame(0, frame, 0, true);
  EXPECT_FALSE(tap.keyframe_wanted());
  tap.end();
  EXPECT_EQ(ended, 1);
}

}  // namespace
}  // namespace lss::hls
