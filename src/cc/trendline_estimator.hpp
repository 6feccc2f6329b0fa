#pragma once
// GCC's delay-gradient filter (the "trendline" of libwebrtc's goog_cc, which
// replaced the draft's Kalman filter): accumulates the one-way delay
// variation of packet groups, smooths it, and fits a line through the last
// kWindow (arrival time, smoothed delay) points. The slope says how fast the
// bottleneck queue grows (> 0) or drains (< 0), in ms of delay per ms.
// A fixed window: no allocation.
#include <array>
#include <cstddef>
#include <cstdint>

namespace lss::cc {

class TrendlineEstimator {
 public:
  static constexpr size_t kWindow = 20;
  static constexpr double kSmoothing = 0.9;

  // One pair of consecutive groups: their send and arrival spacing, and the
  // arrival time of the newer one (receiver clock).
  void update(double send_delta_ms, double arrival_delta_ms, int64_t arrival_us);

  double trend() const { return trend_; }
  // Deltas seen so far (saturating): the detector trusts the trend more as it grows.
  int num_deltas() const { return num_deltas_; }
  // The smoothed accumulated delay variation, ms (for stats).
  double smoothed_delay_ms() const { return smoothed_delay_ms_; }

 private:
  struct Point {
    double x_ms, y_ms;
  };
  std::array<Point, kWindow> window_{};
  size_t count_ = 0, next_ = 0;
  double accumulated_delay_ms_ = 0;
  double smoothed_delay_ms_ = 0;
  int64_t first_arrival_us_ = -1;
  int num_deltas_ = 0;
  double trend_ = 0;
};

}  // namespace lss::cc
