#include "cc/overuse_detector.hpp"

#include <algorithm>
#include <cmath>

namespace lss::cc {

namespace {
constexpr int kMinDeltas = 60;          // the trend gains weight up to this many samples
constexpr double kThresholdGain = 4.0;  // scales the trend into the threshold's units
constexpr double kOveruseTimeMs = 10;   // time above the threshold before signalling
constexpr double kUpRate = 0.0087, kDownRate = 0.039;  // threshold adaptation, per ms
constexpr double kMaxAdaptOffsetMs = 15;               // spikes further above are not adapted to
constexpr double kMinThreshold = 6, kMaxThreshold = 600;
constexpr int64_t kMaxAdaptStepUs = 100'000;
}  // namespace

BandwidthUsage OveruseDetector::detect(double trend, double send_delta_ms, int num_deltas,
                                       int64_t now_us) {
  if (num_deltas < 2) return state_ = BandwidthUsage::kNormal;
  modified_trend_ = std::min(num_deltas, kMinDeltas) * trend * kThresholdGain;
  if (modified_trend_ > threshold_) {
    // Count the time spent above the threshold; the first sample counts half
    // its spacing as it may have crossed midway.
    time_over_ms_ = time_over_ms_ < 0 ? send_delta_ms / 2 : time_over_ms_ + send_delta_ms;
    ++overuse_count_;
    if (time_over_ms_ > kOveruseTimeMs && overuse_count_ > 1 && trend >= prev_trend_) {
      time_over_ms_ = 0;
      overuse_count_ = 0;
      state_ = BandwidthUsage::kOverusing;
    }
  } else if (modified_trend_ < -threshold_) {
    time_over_ms_ = -1;
    overuse_count_ = 0;
    state_ = BandwidthUsage::kUnderusing;
  } else {
    time_over_ms_ = -1;
    overuse_count_ = 0;
    state_ = BandwidthUsage::kNormal;
  }
  prev_trend_ = trend;
  adapt_threshold(modified_trend_, now_us);
  return state_;
}

void OveruseDetector::adapt_threshold(double modified_trend, int64_t now_us) {
  if (last_adapt_us_ < 0) last_adapt_us_ = now_us;
  const double magnitude = std::fabs(modified_trend);
  if (magnitude > threshold_ + kMaxAdaptOffsetMs) {
    // A spike (a route change, a burst of cross traffic): do not chase it.
    last_adapt_us_ = now_us;
    return;
  }
  const double k = magnitude < threshold_ ? kDownRate : kUpRate;
  const int64_t step_us = std::clamp<int64_t>(now_us - last_adapt_us_, 0, kMaxAdaptStepUs);
  threshold_ += k * (magnitude - threshold_) * double(step_us) / 1000.0;
  threshold_ = std::clamp(threshold_, kMinThreshold, kMaxThreshold);
  last_adapt_us_ = now_us;
}

}  // namespace lss::cc
