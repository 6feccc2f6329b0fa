// LayerSelector: which simulcast layer a viewer gets from its estimate.
#include "sfu/layer_selector.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace lss::sfu {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::vector<LayerRate> kThree = {{0, 150'000}, {1, 500'000}, {2, 1'500'000}};

TEST(LayerSelector, TopLayerUntilAnEstimateExists) {
  LayerSelector s;
  EXPECT_EQ(s.select(kThree, 0, Clock::now()), 2);
}

TEST(LayerSelector, FarTooSlowGoesDownAtOnceToTheBestThatFits) {
  LayerSelector s;
  const Timestamp t0 = Clock::now();
  s.select(kThree, 0, t0);
  EXPECT_EQ(s.select(kThree, 900'000, t0), 1);  // 1.5 M > 1.5 x 765 k
}

TEST(LayerSelector, ABriefDipIsRiddenOut) {
  LayerSelector s;
  const Timestamp t0 = Clock::now();
  s.select(kThree, 0, t0);
  // 1.5 M does not fit 1.6 M x 0.85, but not by far: it must last 1.5 s.
  EXPECT_EQ(s.select(kThree, 1'600'000, t0), 2);
  EXPECT_EQ(s.select(kThree, 1'600'000, t0 + milliseconds(1000)), 2);
  EXPECT_EQ(s.select(kThree, 2'500'000, t0 + milliseconds(1200)), 2);  // recovered
  EXPECT_EQ(s.select(kThree, 1'600'000, t0 + milliseconds(2000)), 2);  // a new dip starts
  EXPECT_EQ(s.select(kThree, 1'600'000, t0 + milliseconds(3600)), 1);  // lasted
}

TEST(LayerSelector, UpWhenTheEstimateHasAllowedItForAWhile) {
  LayerSelector s;
  const Timestamp t0 = Clock::now();
  s.select(kThree, 0, t0);
  ASSERT_EQ(s.select(kThree, 300'000, t0), 0);
  EXPECT_EQ(s.select(kThree, 2'000'000, t0 + milliseconds(100)), 0);
  EXPECT_EQ(s.select(kThree, 2'000'000, t0 + milliseconds(1500)), 0);
  EXPECT_EQ(s.select(kThree, 2'000'000, t0 + milliseconds(2200)), 2);
}

TEST(LayerSelector, ASaturatedEstimateTriesTheNextLayerWithBackoff) {
  // A receiver's REMB cannot exceed ~1.5x what it gets: on layer 1 it says
  // 700 k, which neither fits layer 2 nor proves it does not.
  LayerSelector s;
  Timestamp t = Clock::now();
  s.select(kThree, 0, t);
  ASSERT_EQ(s.select(kThree, 700'000, t), 1);
  std::vector<Timestamp> trials;
  for (int i = 0; i < 600; ++i) {  // 60 s, every 100 ms
    t += milliseconds(100);
    const int was = s.target();
    const int now_at = s.select(kThree, 700'000, t);
    if (was == 1 && now_at == 2) trials.push_back(t);
  }
  // Tries after 5 s, then 10, 20, 40 s apart (each fails: the estimate
  // never follows), never more often.
  ASSERT_GE(trials.size(), 2u);
  ASSERT_LE(trials.size(), 4u);
  for (size_t i = 1; i < trials.size(); ++i) {
    EXPECT_GT(trials[i] - trials[i - 1], (trials.size() > 2 && i > 1) ? seconds(10) : seconds(5));
  }
  EXPECT_EQ(s.target(), 1);
}

TEST(LayerSelector, ATrialThatTheEstimateFollowsIsKept) {
  LayerSelector s;
  Timestamp t = Clock::now();
  s.select(kThree, 0, t);
  ASSERT_EQ(s.select(kThree, 700'000, t), 1);
  t += seconds(6);
  ASSERT_EQ(s.select(kThree, 700'000, t), 2);  // the trial
  EXPECT_TRUE(s.in_trial());
  t += seconds(1);
  EXPECT_EQ(s.select(kThree, 2'000'000, t), 2);  // the path carries it
  EXPECT_FALSE(s.in_trial());
  t += seconds(10);
  EXPECT_EQ(s.select(kThree, 2'000'000, t), 2);
}

TEST(LayerSelector, ALoneLayerFarAboveTheEstimateIsPausedAndTriedAgain) {
  const std::vector<LayerRate> one = {{0, 2'500'000}};
  LayerSelector s;
  Timestamp t = Clock::now();
  s.select(one, 0, t);
  // Paused only once the estimate has stayed far below it for 3 s.
  EXPECT_EQ(s.select(one, 1'000'000, t), 0);
  t += seconds(2);
  EXPECT_EQ(s.select(one, 1'000'000, t), 0);
  t += seconds(1);
  EXPECT_EQ(s.select(one, 1'000'000, t), LayerSelector::kPaused);
  t += seconds(1);
  EXPECT_EQ(s.select(one, 1'000'000, t), LayerSelector::kPaused);
  t += seconds(5);
  EXPECT_EQ(s.select(one, 1'000'000, t), 0);  // tried again
  t += seconds(5);
  EXPECT_EQ(s.select(one, 1'000'000, t), LayerSelector::kPaused);  // did not fit
  // Once the estimate carries it, it comes back.
  t += seconds(1);
  EXPECT_EQ(s.select(one, 3'500'000, t), 0);
}

TEST(LayerSelector, ABriefDipDoesNotPauseALoneLayer) {
  const std::vector<LayerRate> one = {{0, 2'500'000}};
  LayerSelector s;
  Timestamp t = Clock::now();
  s.select(one, 0, t);
  for (int i = 0; i < 20; ++i, t += milliseconds(100)) {
    EXPECT_EQ(s.select(one, 900'000, t), 0);  // 2 s far below
  }
  EXPECT_EQ(s.select(one, 2'400'000, t), 0);  // recovered
  t += seconds(1);
  EXPECT_EQ(s.select(one, 900'000, t), 0);  // a new dip starts afresh
}

TEST(LayerSelector, ALayerThatStopsIsReplaced) {
  LayerSelector s;
  const Timestamp t = Clock::now();
  s.select(kThree, 0, t);
  ASSERT_EQ(s.select(kThree, 3'000'000, t), 2);
  const std::vector<LayerRate> two = {{0, 150'000}, {1, 500'000}};  // the publisher dropped f
  EXPECT_EQ(s.select(two, 3'000'000, t + milliseconds(100)), 1);
}

TEST(LayerSelector, WithAnEstimatorItProbesInsteadOfTrying) {
  LayerSelector::Config config;
  config.probing = true;
  LayerSelector s(config);
  Timestamp t = Clock::now();
  s.select(kThree, 0, t);
  ASSERT_EQ(s.select(kThree, 700'000, t), 1);
  const Timestamp settled = t;
  std::vector<std::pair<Timestamp, uint64_t>> probes;
  for (int i = 0; i < 300; ++i) {  // 30 s at 700 k: every probe fails
    t += milliseconds(100);
    EXPECT_EQ(s.select(kThree, 700'000, t), 1) << "never switched on a guess";
    if (const uint64_t p = s.take_probe_request()) probes.emplace_back(t, p);
  }
  ASSERT_GE(probes.size(), 3u);
  // At the next layer's rate with margin, over the headroom.
  EXPECT_EQ(probes[0].second, uint64_t(1'500'000 * 1.25 / 0.85));
  // 3 s, then doubling, never more than 8 s apart.
  EXPECT_LE(probes[0].first - settled, seconds(3) + milliseconds(100));
  for (size_t i = 1; i < probes.size(); ++i) {
    EXPECT_LE(probes[i].first - probes[i - 1].first, seconds(8) + milliseconds(100));
  }
  EXPECT_GE(probes[2].first - probes[1].first, probes[1].first - probes[0].first);
  // A probe that finds room raises the estimate: the layer follows.
  t += milliseconds(100);
  s.select(kThree, 2'500'000, t);
  t += seconds(2) + milliseconds(100);
  EXPECT_EQ(s.select(kThree, 2'500'000, t), 2);
}

TEST(LayerSelector, APausedLayerIsProbedForWithAnEstimator) {
  LayerSelector::Config config;
  config.probing = true;
  LayerSelector s(config);
  const std::vector<LayerRate> one = {{0, 2'500'000}};
  Timestamp t = Clock::now();
  s.select(one, 0, t);
  s.select(one, 1'000'000, t);
  t += seconds(3);
  ASSERT_EQ(s.select(one, 1'000'000, t), LayerSelector::kPaused);
  uint64_t asked = 0;
  for (int i = 0; i < 100 && !asked; ++i) {
    t += milliseconds(100);
    EXPECT_EQ(s.select(one, 1'000'000, t), LayerSelector::kPaused);
    asked = s.take_probe_request();
  }
  EXPECT_GT(asked, 2'500'000u);
  t += milliseconds(100);
  EXPECT_EQ(s.select(one, 3'500'000, t), 0);  // the probe found room
}

}  // namespace
}  // namespace lss::sfu
