#pragma once
// The throughput the viewer actually receives, from the arrival times and
// sizes of acknowledged packets: bytes are summed over windows of receiver
// time (500 ms for the first sample, 150 ms after), and each window's rate
// is blended into the estimate with a weight that shrinks the further it is
// from the estimate (a small Bayesian filter, as libwebrtc's
// BitrateEstimator does), so one bursty window does not swing it.
// Allocation-free.
#include <cstddef>
#include <cstdint>
#include <optional>

namespace lss::cc {

class AckedBitrateEstimator {
 public:
  void on_packet(int64_t arrival_us, size_t bytes);
  std::optional<uint64_t> bps() const;

 private:
  int64_t prev_arrival_us_ = -1;
  int64_t window_elapsed_us_ = 0;
  uint64_t window_bytes_ = 0;
  double estimate_kbps_ = -1;
  double variance_ = 50;
};

}  // namespace lss::cc
