// AIMD, loss-based control and the acknowledged-bitrate filter.
#include <gtest/gtest.h>

#include <cmath>

#include "cc/acked_bitrate_estimator.hpp"
#include "cc/aimd_rate_control.hpp"
#include "cc/loss_based_control.hpp"
#include "cc/sent_rate.hpp"

namespace lss::cc {
namespace {

const Timestamp kT0 = Timestamp{} + std::chrono::hours(1);
using std::chrono::milliseconds;

TEST(AimdRateControl, GrowsEightPercentPerSecondWhileCapacityIsUnknown) {
  AimdRateControl aimd(1'000'000, 30'000, 20'000'000);
  Timestamp now = kT0;
  aimd.update(BandwidthUsage::kNormal, 1'000'000, now);  // hold -> increase
  for (int i = 0; i < 10; ++i)
    aimd.update(BandwidthUsage::kNormal, 1'000'000, now += milliseconds(100));
  EXPECT_NEAR(double(aimd.estimate()), 1'000'000 * 1.08, 5'000);
  EXPECT_EQ(aimd.state(), AimdRateControl::State::kIncrease);
}

TEST(AimdRateControl, NeverGrowsFarPastTheThroughput) {
  AimdRateControl aimd(1'000'000, 30'000, 20'000'000);
  Timestamp now = kT0;
  for (int i = 0; i < 300; ++i)
    aimd.update(BandwidthUsage::kNormal, 400'000, now += milliseconds(100));
  EXPECT_LE(aimd.estimate(), 1'000'000u);  // 1.5 x 400k + 10k is below where it started
  AimdRateControl low(300'000, 30'000, 20'000'000);
  for (int i = 0; i < 300; ++i)
    low.update(BandwidthUsage::kNormal, 400'000, now += milliseconds(100));
  EXPECT_EQ(low.estimate(), 610'000u);
}

TEST(AimdRateControl, OveruseCutsToEightyFivePercentOfThroughputThenGrowsSlowly) {
  AimdRateControl aimd(2'000'000, 30'000, 20'000'000);
  aimd.set_rtt(milliseconds(50));
  Timestamp now = kT0;
  aimd.update(BandwidthUsage::kOverusing, 1'500'000, now);
  EXPECT_EQ(aimd.estimate(), 1'275'000u);
  EXPECT_EQ(aimd.state(), AimdRateControl::State::kHold);
  ASSERT_TRUE(aimd.link_capacity_bps());
  EXPECT_NEAR(*aimd.link_capacity_bps(), 1'500'000, 1);
  // Under-use holds; normal increases — now additively, near the capacity:
  // about one packet per (RTT + 100 ms), far less than 8 %/s.
  aimd.update(BandwidthUsage::kUnderusing, 1'275'000, now += milliseconds(100));
  EXPECT_EQ(aimd.estimate(), 1'275'000u);
  aimd.update(BandwidthUsage::kNormal, 1'275'000, now += milliseconds(100));
  for (int i = 0; i < 10; ++i)
    aimd.update(BandwidthUsage::kNormal, 1'275'000, now += milliseconds(100));
  // 1.275 Mbit/s at 30 fps: 5 packets of 8500 bits a frame; 8500 bits per
  // 150 ms is ~57 kbit/s per second, against 102 kbit/s for 8 %.
  const double per_second = double(aimd.estimate()) - 1'275'000;
  EXPECT_NEAR(per_second, 8500 / 0.150, 2'000);
}

TEST(AimdRateControl, ReducesFurtherOnlyAfterAnRtt) {
  AimdRateControl aimd(2'000'000, 30'000, 20'000'000);
  aimd.set_rtt(milliseconds(100));
  aimd.update(BandwidthUsage::kOverusing, 2'000'000, kT0);
  EXPECT_FALSE(aimd.time_to_reduce_further(kT0 + milliseconds(50), 1'900'000));
  EXPECT_TRUE(aimd.time_to_reduce_further(kT0 + milliseconds(50), 500'000));  // collapsed
  EXPECT_TRUE(aimd.time_to_reduce_further(kT0 + milliseconds(100), 1'900'000));
}

TEST(AimdRateControl, ACutTakesAtMostHalf) {
  AimdRateControl aimd(2'000'000, 30'000, 20'000'000);
  aimd.update(BandwidthUsage::kOverusing, 300'000, kT0);
  EXPECT_EQ(aimd.estimate(), 1'000'000u);  // not 255k
  aimd.update(BandwidthUsage::kOverusing, 300'000, kT0 + milliseconds(300));
  EXPECT_EQ(aimd.estimate(), 500'000u);
  aimd.update(BandwidthUsage::kOverusing, 300'000, kT0 + milliseconds(600));
  EXPECT_EQ(aimd.estimate(), 255'000u);
}

// Sending 100 kbit/s under a 1 Mbit/s estimate: over-use halves it, takes
// no capacity sample, and another cut waits 500 ms, whatever the throughput.
TEST(AimdRateControl, AnAppLimitedSenderIsCutGently) {
  AimdRateControl aimd(1'000'000, 30'000, 20'000'000);
  aimd.set_rtt(milliseconds(50));
  const uint64_t sent = 100'000;
  EXPECT_TRUE(aimd.time_to_reduce_further(kT0, 110'000, sent));
  aimd.update(BandwidthUsage::kOverusing, 110'000, kT0, sent);
  EXPECT_EQ(aimd.estimate(), 500'000u);
  EXPECT_FALSE(aimd.link_capacity_bps());
  // Below half the estimate, yet not at once: it is the source's rate.
  EXPECT_FALSE(aimd.time_to_reduce_further(kT0 + milliseconds(100), 110'000, sent));
  EXPECT_TRUE(aimd.time_to_reduce_further(kT0 + milliseconds(100), 110'000));  // not app-limited
  // An increase in between does not restart the 500 ms.
  aimd.update(BandwidthUsage::kNormal, 110'000, kT0 + milliseconds(200), sent);
  EXPECT_TRUE(aimd.time_to_reduce_further(kT0 + milliseconds(500), 110'000, sent));
  aimd.update(BandwidthUsage::kOverusing, 110'000, kT0 + milliseconds(500), sent);
  EXPECT_EQ(aimd.estimate(), 250'000u);
  // Within 2x of what is sent: the usual cut, with its capacity sample.
  aimd.update(BandwidthUsage::kOverusing, 110'000, kT0 + milliseconds(1000), 130'000);
  EXPECT_EQ(aimd.estimate(), 125'000u);  // half at most still
  ASSERT_TRUE(aimd.link_capacity_bps());
  EXPECT_NEAR(*aimd.link_capacity_bps(), 110'000, 1);
}

TEST(AimdRateControl, StaysWithinBounds) {
  AimdRateControl aimd(1'000'000, 100'000, 2'000'000);
  Timestamp now = kT0;
  for (int i = 0; i < 100; ++i)
    aimd.update(BandwidthUsage::kOverusing, 1000, now += milliseconds(300));
  EXPECT_EQ(aimd.estimate(), 100'000u);
  aimd.set_estimate(50'000'000, now);
  EXPECT_EQ(aimd.estimate(), 2'000'000u);
}

TEST(LossBasedControl, GccRules) {
  LossBasedControl loss(1'000'000, 30'000, 20'000'000);
  Timestamp now = kT0;
  loss.on_loss(0.0, now, milliseconds(100), 1'000'000);  // first report: no elapsed time
  EXPECT_EQ(loss.estimate(), 1'000'000u);
  loss.on_loss(0.01, now += std::chrono::seconds(1), milliseconds(100), 1'000'000);
  EXPECT_EQ(loss.estimate(), 1'081'000u);  // +8 % and 1 kbit/s
  loss.on_loss(0.05, now += std::chrono::seconds(1), milliseconds(100), 1'081'000);
  EXPECT_EQ(loss.estimate(), 1'081'000u);  // hold
  loss.on_loss(0.20, now += std::chrono::seconds(1), milliseconds(100), 900'000);
  EXPECT_EQ(loss.estimate(), 810'000u);  // cut from the target in force: 900k x (1 - 0.1)
  EXPECT_TRUE(loss.limiting());
  loss.on_loss(0.20, now += milliseconds(200), milliseconds(100), 810'000);
  EXPECT_EQ(loss.estimate(), 810'000u);  // not twice within RTT + 300 ms
}

TEST(LossBasedControl, LossWithoutDelaySignalIsThePathsOwnUpTo15Percent) {
  LossBasedControl loss(1'000'000, 30'000, 20'000'000);
  Timestamp now = kT0;
  loss.follow(2'000'000);
  for (int i = 0; i < 30; ++i)  // a lossy radio link: 12.5 % and no queue
  {
    loss.on_loss(0.125, now += std::chrono::seconds(1), milliseconds(100), 2'000'000, true);
    loss.follow(2'000'000);  // as SendSideBwe does after every report
  }
  EXPECT_EQ(loss.estimate(), 2'000'000u);
  EXPECT_FALSE(loss.limiting());
  loss.on_loss(0.125, now += std::chrono::seconds(1), milliseconds(100), 2'000'000, false);
  EXPECT_NEAR(double(loss.estimate()), 1'875'000, 1);  // the delay detector saw a queue: congestion
  loss.on_loss(0.30, now += std::chrono::seconds(1), milliseconds(100), 1'875'000, true);
  EXPECT_NEAR(double(loss.estimate()), 1'593'750, 1);  // far past a path's own: congestion anyway
  for (int i = 0; i < 5; ++i)  // queue gone, the path's own loss: grows back
    loss.on_loss(0.12, now += std::chrono::seconds(1), milliseconds(100), 1'593'750, true);
  loss.follow(2'000'000);
  EXPECT_FALSE(loss.limiting());
  EXPECT_EQ(loss.estimate(), 2'000'000u);
}

TEST(LossBasedControl, CeilingOnlyAfterHeavyLoss) {
  LossBasedControl loss(1'000'000, 30'000, 20'000'000);
  Timestamp now = kT0;
  loss.follow(3'000'000);  // no heavy loss yet: tracks the delay-based estimate
  EXPECT_EQ(loss.estimate(), 3'000'000u);
  loss.on_loss(0.05, now, milliseconds(100), 3'000'000);
  loss.follow(3'500'000);  // moderate loss does not hold the reference back
  EXPECT_EQ(loss.estimate(), 3'500'000u);
  loss.on_loss(0.30, now += std::chrono::seconds(1), milliseconds(100), 3'500'000);
  EXPECT_EQ(loss.estimate(), 2'975'000u);
  loss.follow(3'500'000);
  EXPECT_EQ(loss.estimate(), 2'975'000u);  // limiting now
  loss.on_loss(0.05, now += std::chrono::seconds(1), milliseconds(100), 2'975'000);
  EXPECT_EQ(loss.estimate(), 2'975'000u);  // holds in 2-10 %
  for (int i = 0; i < 3; ++i)
    loss.on_loss(0.0, now += std::chrono::seconds(1), milliseconds(100), 2'975'000);
  loss.follow(3'500'000);
  EXPECT_FALSE(loss.limiting());  // grew back past the reference
  EXPECT_EQ(loss.estimate(), 3'500'000u);
  loss.follow(1'000'000);  // and follows it down too
  EXPECT_EQ(loss.estimate(), 1'000'000u);
}

TEST(SentRate, MeasuresWhatWasSentOverHalfASecond) {
  SentRate r;
  EXPECT_FALSE(r.bps(0));
  // 1200 bytes every 10 ms: 960 kbit/s.
  for (int64_t t = 0; t < 2'000'000; t += 10'000) r.on_sent(t, 1200);
  EXPECT_NEAR(double(*r.bps(2'000'000)), 960'000, 20'000);
  // Then 100 kbit/s (125 bytes every 10 ms) for a second.
  for (int64_t t = 2'000'000; t < 3'000'000; t += 10'000) r.on_sent(t, 125);
  EXPECT_NEAR(double(*r.bps(3'000'000)), 100'000, 10'000);
  // A burst now: the current window is high, the lowest of the last second not.
  for (int i = 0; i < 20; ++i) r.on_sent(3'000'000 + i * 1000, 1200);
  EXPECT_GT(*r.bps(3'050'000), 400'000u);
  EXPECT_NEAR(double(*r.min_bps(3'050'000, 1'000'000)), 100'000, 20'000);
  // Windows older than the ring are not made up.
  EXPECT_FALSE(r.bps(1'000'000));
}

TEST(SentRate, AShortHistoryCountsFromItsFirstPacket) {
  SentRate r;
  for (int64_t t = 1'000'000; t < 1'200'000; t += 10'000) r.on_sent(t, 1200);
  EXPECT_NEAR(double(*r.bps(1'200'000)), 960'000, 50'000);
}

TEST(AckedBitrateEstimator, MeasuresASteadyStream) {
  AckedBitrateEstimator acked;
  EXPECT_FALSE(acked.bps());
  int64_t t = 0;
  for (int i = 0; i < 500; ++i) {  // 1200 bytes every 4.8 ms = 2 Mbit/s
    acked.on_packet(t, 1200);
    t += 4'800;
  }
  ASSERT_TRUE(acked.bps());
  EXPECT_NEAR(double(*acked.bps()), 2e6, 0.05 * 2e6);
  // Halving the rate moves the estimate there within a second or so.
  for (int i = 0; i < 120; ++i) {
    acked.on_packet(t, 1200);
    t += 9'600;
  }
  EXPECT_NEAR(double(*acked.bps()), 1e6, 0.1 * 1e6);
}

TEST(AckedBitrateEstimator, IgnoresSilenceAndTimeGoingBack) {
  AckedBitrateEstimator acked;
  int64_t t = 0;
  for (int i = 0; i < 300; ++i) acked.on_packet(t += 9'600, 1200);
  const uint64_t before = *acked.bps();
  acked.on_packet(t += 10'000'000, 1200);  // 10 s of nothing
  acked.on_packet(t - 5'000'000, 1200);    // a clock step back
  for (int i = 0; i < 300; ++i) acked.on_packet(t += 9'600, 1200);
  EXPECT_NEAR(double(*acked.bps()), double(before), 0.1 * double(before));
}

}  // namespace
}  // namespace lss::cc
