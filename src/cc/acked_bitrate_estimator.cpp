#include "cc/acked_bitrate_estimator.hpp"

#include <algorithm>
#include <cmath>

namespace lss::cc {

namespace {
constexpr int64_t kFirstWindowUs = 500'000;
constexpr int64_t kWindowUs = 150'000;
constexpr double kUncertaintyScale = 10.0;
constexpr double kProcessNoise = 5.0;  // how much the true rate may move between windows
}  // namespace

void AckedBitrateEstimator::on_packet(int64_t arrival_us, size_t bytes) {
  const int64_t window_us = estimate_kbps_ < 0 ? kFirstWindowUs : kWindowUs;
  if (prev_arrival_us_ >= 0) {
    const int64_t gap = arrival_us - prev_arrival_us_;
    if (gap < 0) {
      // Arrival times went back (reordering across feedback, a clock reset):
      // the window in progress cannot be trusted.
      window_elapsed_us_ = 0;
      window_bytes_ = 0;
    } else {
      window_elapsed_us_ += gap;
      if (gap > window_us) {
        // A silence longer than a window: nothing was in flight, do not
        // average it into a rate.
        window_bytes_ = 0;
        window_elapsed_us_ %= window_us;
      }
    }
  }
  prev_arrival_us_ = arrival_us;

  if (window_elapsed_us_ >= window_us) {
    const double sample_kbps = 8.0 * double(window_bytes_) / (double(window_us) / 1000.0);
    window_elapsed_us_ -= window_us;
    window_bytes_ = 0;
    if (estimate_kbps_ < 0) {
      estimate_kbps_ = sample_kbps;
    } else {
      // The further a sample is from the estimate, the less it is believed.
      const double uncertainty = kUncertaintyScale * std::fabs(estimate_kbps_ - sample_kbps) /
                                 std::max(estimate_kbps_, 1.0);
      const double sample_var = uncertainty * uncertainty;
      const double predicted_var = variance_ + kProcessNoise;
      estimate_kbps_ = (sample_var * estimate_kbps_ + predicted_var * sample_kbps) /
                       (sample_var + predicted_var);
      if (estimate_kbps_ < 0) estimate_kbps_ = 0;
      variance_ = sample_var * predicted_var / (sample_var + predicted_var);
    }
  }
  window_bytes_ += bytes;
}

std::optional<uint64_t> AckedBitrateEstimator::bps() const {
  if (estimate_kbps_ < 0) return std::nullopt;
  return uint64_t(estimate_kbps_ * 1000.0);
}

}  // namespace lss::cc
