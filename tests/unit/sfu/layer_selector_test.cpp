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

TEST(LayerSelector, ALayerThatStopsIsReplaced) {
  LayerSelector s;
  const Timestamp t = Clock::now();
  s.select(kThree, 0, t);
  ASSERT_EQ(s.select(kThree, 3'000'000, t), 2);
  const std::vector<LayerRate> two = {{0, 150'000}, {1, 500'000}};  // the publisher dropped f
  EXPECT_EQ(s.select(two, 3'000'000, t + milliseconds(100)), 1);
}

}  // namespace
}  // namespace lss::sfu
