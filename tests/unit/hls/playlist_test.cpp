#include "hls/playlist.hpp"

#include <gtest/gtest.h>

namespace lss::hls {
namespace {

using std::chrono::milliseconds;

// 2026-12-03T10:00:00.000Z
const WallClock::time_point kT0 = WallClock::time_point(std::chrono::seconds(1796292000));

// Segments of `parts_per_segment` parts of `part_ms` each, the first part of
// each segment independent.
void feed(LivePlaylist& pl, uint64_t first_msn, int segments, int parts_per_segment,
          int64_t part_ms) {
  for (int s = 0; s < segments; ++s) {
    const uint64_t msn = first_msn + uint64_t(s);
    const auto start = kT0 + milliseconds(int64_t(msn) * parts_per_segment * part_ms);
    for (int p = 0; p < parts_per_segment; ++p) pl.add_part(msn, part_ms, p == 0, start);
  }
}

TEST(Iso8601Ms, Milliseconds) {
  EXPECT_EQ(iso8601_ms(kT0 + milliseconds(1234)), "2026-12-03T10:00:01.234Z");
}

TEST(LivePlaylist, TwoSegmentsAndPartsInProgress) {
  LivePlaylist pl("ab12", 2000, 500);
  feed(pl, 0, 2, 4, 500);                               // msn 0, 1: 2 s each
  pl.add_part(2, 500, true, kT0 + milliseconds(4000));  // msn 2 in progress
  pl.add_part(2, 500, false, kT0 + milliseconds(4000));
  EXPECT_EQ(pl.target_duration_s(), 2);
  EXPECT_EQ(pl.next_part_seq(), 10u);
  // All parts end within 3 target durations (6 s) of the end (5 s in all).
  EXPECT_EQ(
      pl.render(false),
      "#EXTM3U\n"
      "#EXT-X-VERSION:9\n"
      "#EXT-X-TARGETDURATION:2\n"
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=12.000\n"
      "#EXT-X-PART-INF:PART-TARGET=0.500\n"
      "#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MAP:URI=\"init-ab12.mp4\"\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:00.000Z\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-0.mp4\",INDEPENDENT=YES\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-1.mp4\"\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-2.mp4\"\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-3.mp4\"\n"
      "#EXTINF:2.000,\n"
      "seg-ab12-0.mp4\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:02.000Z\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-4.mp4\",INDEPENDENT=YES\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-5.mp4\"\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-6.mp4\"\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-7.mp4\"\n"
      "#EXTINF:2.000,\n"
      "seg-ab12-1.mp4\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:04.000Z\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-8.mp4\",INDEPENDENT=YES\n"
      "#EXT-X-PART:DURATION=0.500,URI=\"part-ab12-9.mp4\"\n"
      "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-ab12-10.mp4\"\n");
}

TEST(LivePlaylist, OldPartsAreDroppedAndTheWindowSlides) {
  LivePlaylist pl("s", 1000, 500);
  feed(pl, 0, 6, 2, 500);  // 1 s segments: msn 0-4 complete, 5 in progress
  pl.pop_front();
  pl.pop_front();
  pl.add_part(6, 500, true, kT0 + milliseconds(6000));  // completes msn 5
  // The window: msn 2-5 (4 s) and half a second of msn 6. With a 1 s target
  // parts are listed for segments ending after 4.5 - 3 = 1.5 s into the
  // window: msn 3 (parts 6, 7) and later, not msn 2 (parts 4, 5).
  const std::string text = pl.render(false);
  EXPECT_NE(text.find("#EXT-X-MEDIA-SEQUENCE:2\n"), std::string::npos);
  EXPECT_EQ(text.find("seg-s-1.mp4"), std::string::npos);
  EXPECT_EQ(text.find("part-s-5.mp4"), std::string::npos);
  EXPECT_NE(text.find("#EXTINF:1.000,\nseg-s-2.mp4\n"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-PART:DURATION=0.500,URI=\"part-s-6.mp4\",INDEPENDENT=YES\n"),
            std::string::npos);
  EXPECT_NE(text.find("#EXT-X-PART:DURATION=0.500,URI=\"part-s-12.mp4\",INDEPENDENT=YES\n"
                      "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-s-13.mp4\"\n"),
            std::string::npos);
  EXPECT_EQ(pl.last_complete_msn(), 5);
}

TEST(LivePlaylist, DeltaUpdateSkipsSegmentsOlderThanTheSkipBoundary) {
  LivePlaylist pl("s", 1000, 500);
  feed(pl, 0, 10, 2, 500);  // nine 1 s segments and msn 9 in progress; skip boundary 6 s
  // Segments 0-3 end at least 6 s before the end (10 s): skipped.
  EXPECT_EQ(pl.render(true),
            "#EXTM3U\n"
            "#EXT-X-VERSION:9\n"
            "#EXT-X-TARGETDURATION:1\n"
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=6.000\n"
            "#EXT-X-PART-INF:PART-TARGET=0.500\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n"
            "#EXT-X-MAP:URI=\"init-s.mp4\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:04.000Z\n"
            "#EXTINF:1.000,\n"
            "seg-s-4.mp4\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:05.000Z\n"
            "#EXTINF:1.000,\n"
            "seg-s-5.mp4\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:06.000Z\n"
            "#EXTINF:1.000,\n"
            "seg-s-6.mp4\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:07.000Z\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part-s-14.mp4\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part-s-15.mp4\"\n"
            "#EXTINF:1.000,\n"
            "seg-s-7.mp4\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:08.000Z\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part-s-16.mp4\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part-s-17.mp4\"\n"
            "#EXTINF:1.000,\n"
            "seg-s-8.mp4\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:09.000Z\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part-s-18.mp4\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.500,URI=\"part-s-19.mp4\"\n"
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-s-20.mp4\"\n");
  // Too short a window to skip anything: the full playlist.
  LivePlaylist short_pl("s", 1000, 500);
  feed(short_pl, 0, 3, 2, 500);
  EXPECT_EQ(short_pl.render(true), short_pl.render(false));
}

TEST(LivePlaylist, EndedStreamHasEndlistAndNoHint) {
  LivePlaylist pl("s", 2000, 300);
  feed(pl, 0, 1, 3, 300);
  pl.add_part(1, 300, true, kT0 + milliseconds(900));
  pl.add_part(1, 200, false, kT0 + milliseconds(900));
  pl.end();
  EXPECT_TRUE(pl.ended());
  EXPECT_EQ(
      pl.render(false),
      "#EXTM3U\n"
      "#EXT-X-VERSION:9\n"
      "#EXT-X-TARGETDURATION:2\n"
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.900,CAN-SKIP-UNTIL=12.000\n"
      "#EXT-X-PART-INF:PART-TARGET=0.300\n"
      "#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MAP:URI=\"init-s.mp4\"\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:00.000Z\n"
      "#EXT-X-PART:DURATION=0.300,URI=\"part-s-0.mp4\",INDEPENDENT=YES\n"
      "#EXT-X-PART:DURATION=0.300,URI=\"part-s-1.mp4\"\n"
      "#EXT-X-PART:DURATION=0.300,URI=\"part-s-2.mp4\"\n"
      "#EXTINF:0.900,\n"
      "seg-s-0.mp4\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:00.900Z\n"
      "#EXT-X-PART:DURATION=0.300,URI=\"part-s-3.mp4\",INDEPENDENT=YES\n"
      "#EXT-X-PART:DURATION=0.200,URI=\"part-s-4.mp4\"\n"
      "#EXTINF:0.500,\n"
      "seg-s-1.mp4\n"
      "#EXT-X-ENDLIST\n");
  // After the end, any blocking request is answered at once.
  EXPECT_TRUE(pl.reached(100, 0));
}

TEST(LivePlaylist, TargetsGrowWithLongSegmentsAndParts) {
  LivePlaylist pl("s", 2000, 300);
  pl.add_part(0, 340, true, kT0);  // a part longer than the target
  EXPECT_EQ(pl.part_target_ms(), 340);
  for (int i = 0; i < 8; ++i) pl.add_part(0, 300, false, kT0);  // 2.74 s
  pl.add_part(1, 300, true, kT0);
  EXPECT_EQ(pl.target_duration_s(), 3);  // round(2.74) = 3
  const std::string text = pl.render(false);
  EXPECT_NE(text.find("#EXT-X-TARGETDURATION:3\n"), std::string::npos);
  EXPECT_NE(text.find("PART-HOLD-BACK=1.020,CAN-SKIP-UNTIL=18.000\n"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-PART-INF:PART-TARGET=0.340\n"), std::string::npos);
}

TEST(LivePlaylist, ReachedFollowsPublishedParts) {
  LivePlaylist pl("s", 1000, 500);
  EXPECT_FALSE(pl.reached(0, 0));
  pl.add_part(0, 500, true, kT0);
  EXPECT_TRUE(pl.reached(0, 0));
  EXPECT_FALSE(pl.reached(0, 1));
  pl.add_part(0, 500, false, kT0);
  EXPECT_EQ(pl.last_complete_msn(), -1);
  // Part 2 of segment 0 does not exist (it has two); asking for it means
  // part 0 of segment 1.
  EXPECT_FALSE(pl.reached(0, 2));
  pl.add_part(1, 500, true, kT0);
  EXPECT_TRUE(pl.reached(0, 2));
  EXPECT_TRUE(pl.reached(1, 0));
  EXPECT_FALSE(pl.reached(1, 1));
  EXPECT_EQ(pl.last_complete_msn(), 0);
  EXPECT_EQ(pl.last().msn, 1u);
  EXPECT_EQ(pl.last().part, 0u);
}

}  // namespace
}  // namespace lss::hls

namespace lss::hls {
namespace {

TEST(LivePlaylist, IndependentSegmentsOnlyWhileEverySegmentStartsWithAKeyframe) {
  LivePlaylist pl("s", 1000, 500);
  pl.add_part(0, 500, true, kT0);
  pl.add_part(0, 500, false, kT0);
  EXPECT_NE(pl.render(false).find("#EXT-X-INDEPENDENT-SEGMENTS\n"), std::string::npos);
  pl.add_part(1, 500, false, kT0);  // cut without a keyframe in time
  EXPECT_EQ(pl.render(false).find("#EXT-X-INDEPENDENT-SEGMENTS\n"), std::string::npos);
}

}  // namespace
}  // namespace lss::hls
