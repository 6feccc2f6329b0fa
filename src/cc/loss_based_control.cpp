#include "cc/loss_based_control.hpp"

#include <algorithm>
#include <cmath>

namespace lss::cc {

namespace {
constexpr double kLowLoss = 0.02, kHighLoss = 0.10;
// With no queue building (the delay-based detector clear), loss up to this
// is the path's own, not congestion.
constexpr double kUncorroboratedHighLoss = 0.15;
constexpr double kIncreasePerSecond = 1.08;
constexpr double kExtraBpsPerSecond = 1000;  // so very low rates do not get stuck
constexpr Duration kDecreaseInterval = std::chrono::milliseconds(300);
}  // namespace

LossBasedControl::LossBasedControl(uint64_t start_bps, uint64_t min_bps, uint64_t max_bps)
    : min_bps_(min_bps), max_bps_(std::max(min_bps, max_bps)) {
  estimate_bps_ = clamp(double(start_bps));
}

uint64_t LossBasedControl::clamp(double bps) const {
  if (!(bps >= double(min_bps_))) return min_bps_;  // also catches NaN
  if (bps >= double(max_bps_)) return max_bps_;
  return uint64_t(bps);
}

void LossBasedControl::on_loss(double fraction, Timestamp now, Duration rtt, uint64_t current_bps,
                               bool delay_clear) {
  if (!(fraction >= 0)) fraction = 0;  // NaN or negative from a confused caller
  fraction = std::min(fraction, 1.0);
  last_loss_ = fraction;
  high_loss_ = delay_clear ? kUncorroboratedHighLoss : kHighLoss;
  const double dt_s =
      last_report_
          ? std::clamp(std::chrono::duration<double>(now - *last_report_).count(), 0.0, 1.0)
          : 0.0;
  last_report_ = now;

  // The path's own loss says nothing about our rate: grow back as if there
  // were none (a cut made while a queue was building is undone).
  if (fraction < kLowLoss || (delay_clear && fraction <= high_loss_)) {
    const double grown =
        double(estimate_bps_) * std::pow(kIncreasePerSecond, dt_s) + kExtraBpsPerSecond * dt_s;
    estimate_bps_ = clamp(grown);
  } else if (fraction <= high_loss_) {
    // Hold.
  } else if (!last_decrease_ || now - *last_decrease_ >= kDecreaseInterval + rtt) {
    const double base = double(std::min(estimate_bps_, current_bps));
    estimate_bps_ = clamp(base * (1.0 - 0.5 * fraction));
    last_decrease_ = now;
    limiting_ = true;
  }
}

void LossBasedControl::raise_to(uint64_t bps) {
  if (last_loss_ > high_loss_) return;
  estimate_bps_ = std::max(estimate_bps_, clamp(double(bps)));
}

void LossBasedControl::follow(uint64_t reference_bps) {
  const uint64_t reference = clamp(double(reference_bps));
  if (limiting_ && estimate_bps_ < reference) return;
  limiting_ = false;
  estimate_bps_ = reference;
}

}  // namespace lss::cc
