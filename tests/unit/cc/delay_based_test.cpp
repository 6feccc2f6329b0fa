// The delay-based chain: packet grouping, the trendline and the detector.
#include <gtest/gtest.h>

#include "cc/inter_arrival.hpp"
#include "cc/overuse_detector.hpp"
#include "cc/trendline_estimator.hpp"

namespace lss::cc {
namespace {

TEST(InterArrival, GroupsPacketsSentWithinFiveMilliseconds) {
  InterArrival ia;
  // Group A: sent at 0, 2, 4 ms; group B at 10, 12 ms; C at 20 ms.
  EXPECT_FALSE(ia.on_packet(0, 50'000, 0));
  EXPECT_FALSE(ia.on_packet(2'000, 52'000, 0));
  EXPECT_FALSE(ia.on_packet(4'000, 54'000, 0));
  EXPECT_FALSE(ia.on_packet(10'000, 61'000, 0));  // B starts; A has no predecessor
  EXPECT_FALSE(ia.on_packet(12'000, 63'000, 0));
  auto d = ia.on_packet(20'000, 75'000, 0);  // C starts: A -> B complete
  ASSERT_TRUE(d);
  EXPECT_EQ(d->send_us, 12'000 - 4'000);      // last send of each group
  EXPECT_EQ(d->arrival_us, 63'000 - 54'000);  // last arrival of each group
}

TEST(InterArrival, BurstReleasedByAQueueJoinsTheGroup) {
  InterArrival ia;
  ia.on_packet(0, 100'000, 0);
  // Sent 20 ms later but arrived 1 ms after the first: a queue let both go
  // together, so it belongs to the same group.
  EXPECT_FALSE(ia.on_packet(20'000, 101'000, 0));
  EXPECT_FALSE(ia.on_packet(40'000, 140'000, 0));  // a new group
  auto d = ia.on_packet(60'000, 160'000, 0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->send_us, 40'000 - 20'000);
  EXPECT_EQ(d->arrival_us, 140'000 - 101'000);
}

TEST(InterArrival, SkipsReorderedPackets) {
  InterArrival ia;
  ia.on_packet(10'000, 100'000, 0);
  ia.on_packet(20'000, 110'000, 0);
  EXPECT_FALSE(ia.on_packet(5'000, 111'000, 0));  // sent before the current group
  auto d = ia.on_packet(30'000, 120'000, 0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->send_us, 10'000);
  EXPECT_EQ(d->arrival_us, 10'000);
}

// Feeds groups every 10 ms of send time whose arrival spacing is
// `arrival_ratio` times the send spacing; returns the detector's last state.
BandwidthUsage run(double arrival_ratio, int groups, OveruseDetector& det, TrendlineEstimator& tl) {
  BandwidthUsage state = BandwidthUsage::kNormal;
  int64_t arrival = 1'000'000;
  for (int i = 0; i < groups; ++i) {
    arrival += int64_t(10'000 * arrival_ratio);
    tl.update(10.0, 10.0 * arrival_ratio, arrival);
    state = det.detect(tl.trend(), 10.0, tl.num_deltas(), arrival);
  }
  return state;
}

TEST(Trendline, SlopeIsTheQueueGrowthRate) {
  TrendlineEstimator tl;
  int64_t arrival = 0;
  for (int i = 0; i < 200; ++i) {
    arrival += 11'000;  // sent every 10 ms, arriving every 11 ms: +1 ms per 11 ms
    tl.update(10.0, 11.0, arrival);
  }
  EXPECT_NEAR(tl.trend(), 1.0 / 11.0, 0.005);
  EXPECT_EQ(tl.num_deltas(), 200);
}

TEST(OveruseDetector, ConstantDelayIsNormal) {
  OveruseDetector det;
  TrendlineEstimator tl;
  EXPECT_EQ(run(1.0, 500, det, tl), BandwidthUsage::kNormal);
  EXPECT_NEAR(det.modified_trend(), 0.0, 1e-9);
  EXPECT_DOUBLE_EQ(det.threshold(), 6.0);  // adapted down to its floor
}

TEST(OveruseDetector, GrowingDelayIsOveruseShrinkingIsUnderuse) {
  {
    OveruseDetector det;
    TrendlineEstimator tl;
    run(1.0, 100, det, tl);
    EXPECT_EQ(run(1.10, 40, det, tl), BandwidthUsage::kOverusing);
  }
  {
    OveruseDetector det;
    TrendlineEstimator tl;
    run(1.0, 100, det, tl);
    EXPECT_EQ(run(0.85, 40, det, tl), BandwidthUsage::kUnderusing);
  }
}

TEST(OveruseDetector, ASingleSpikeIsNotOveruse) {
  OveruseDetector det;
  TrendlineEstimator tl;
  run(1.0, 100, det, tl);
  // One group delayed by 30 ms, then back on schedule.
  int64_t arrival = 2'000'000;
  tl.update(10.0, 40.0, arrival += 40'000);
  EXPECT_NE(det.detect(tl.trend(), 10.0, tl.num_deltas(), arrival), BandwidthUsage::kOverusing);
}

TEST(OveruseDetector, ThresholdStaysWithinBounds) {
  OveruseDetector det;
  for (int i = 0; i < 10'000; ++i) {
    det.detect((i % 2 ? 1 : -1) * 10.0, 10.0, 100, int64_t(i) * 10'000);
    ASSERT_GE(det.threshold(), 6.0);
    ASSERT_LE(det.threshold(), 600.0);
  }
}

}  // namespace
}  // namespace lss::cc
