// Frame completion: a frame counts once its next frame starts, from its last
// send to its last arrival, and only when it arrived whole.
#include "frame_completion.hpp"

#include <gtest/gtest.h>

namespace lss::load {
namespace {

TEST(FrameCompletion, AWholeFrameCountsFromItsLastSendToItsLastArrival) {
  FrameCompletion f;
  // Frame 1000: three packets sent at 0, 10, 20 µs, arriving out of order.
  EXPECT_FALSE(f.on_packet(1000, 1, false, 500, 0));
  EXPECT_FALSE(f.on_packet(1000, 3, true, 900, 20));
  EXPECT_FALSE(f.on_packet(1000, 2, false, 1200, 10));
  // The next frame's first packet closes it: 1200 - 20.
  EXPECT_EQ(f.on_packet(4000, 4, false, 5000, 4000), 1180);
  EXPECT_FALSE(f.on_packet(4000, 5, true, 5100, 4010));
  EXPECT_EQ(f.on_packet(7000, 6, true, 8000, 7000), 5100 - 4010);
}

TEST(FrameCompletion, AFrameWithAGapOrNoMarkerDoesNotCount) {
  FrameCompletion f;
  f.on_packet(1000, 1, false, 100, 0);
  f.on_packet(1000, 3, true, 200, 0);                   // 2 never came
  EXPECT_FALSE(f.on_packet(4000, 4, false, 300, 250));  // so 1000 does not count
  EXPECT_FALSE(f.on_packet(7000, 5, true, 400, 350));   // 4000 had no marker
  EXPECT_EQ(f.on_packet(10000, 6, true, 600, 500), 50);
}

TEST(FrameCompletion, AStragglerOfAnOlderFrameIsIgnored) {
  FrameCompletion f;
  f.on_packet(4000, 10, false, 100, 0);
  EXPECT_FALSE(f.on_packet(1000, 9, true, 150, 0));  // older: not a new frame
  f.on_packet(4000, 11, true, 200, 50);
  EXPECT_EQ(f.on_packet(7000, 12, true, 300, 250), 150);
  // Sequence numbers wrap.
  FrameCompletion w;
  w.on_packet(1000, 65535, false, 10, 0);
  w.on_packet(1000, 0, true, 20, 5);
  EXPECT_EQ(w.on_packet(4000, 1, true, 30, 25), 15);
}

}  // namespace
}  // namespace lss::load
