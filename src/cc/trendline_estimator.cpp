#include "cc/trendline_estimator.hpp"

#include <algorithm>

namespace lss::cc {

namespace {
constexpr int kMaxDeltas = 1000;
}

void TrendlineEstimator::update(double send_delta_ms, double arrival_delta_ms, int64_t arrival_us) {
  num_deltas_ = std::min(num_deltas_ + 1, kMaxDeltas);
  if (first_arrival_us_ < 0) first_arrival_us_ = arrival_us;
  accumulated_delay_ms_ += arrival_delta_ms - send_delta_ms;
  smoothed_delay_ms_ = kSmoothing * smoothed_delay_ms_ + (1 - kSmoothing) * accumulated_delay_ms_;

  window_[next_] = {double(arrival_us - first_arrival_us_) / 1000.0, smoothed_delay_ms_};
  next_ = (next_ + 1) % kWindow;
  count_ = std::min(count_ + 1, kWindow);
  if (count_ < kWindow) return;  // keep the previous trend until the window is full

  // Least-squares slope of y over x; the order of the points does not matter.
  double sum_x = 0, sum_y = 0;
  for (const Point& p : window_) {
    sum_x += p.x_ms;
    sum_y += p.y_ms;
  }
  const double mean_x = sum_x / double(kWindow), mean_y = sum_y / double(kWindow);
  double num = 0, den = 0;
  for (const Point& p : window_) {
    num += (p.x_ms - mean_x) * (p.y_ms - mean_y);
    den += (p.x_ms - mean_x) * (p.x_ms - mean_x);
  }
  if (den > 0) trend_ = num / den;
}

}  // namespace lss::cc
