#include "rtp/rtt_estimator.hpp"

namespace lss {

void RttEstimator::on_sender_report_sent(uint64_t ntp, Timestamp now) {
  sent_[next_] = Sent{uint32_t(ntp >> 16), now};
  next_ = (next_ + 1) % sent_.size();
}

std::optional<Duration> RttEstimator::on_report_block(uint32_t lsr, uint32_t dlsr, Timestamp now) {
  if (lsr == 0) return std::nullopt;
  for (const Sent& s : sent_) {
    if (s.middle != lsr || s.at == Timestamp{}) continue;
    // DLSR is in units of 1/65536 s.
    const auto held = std::chrono::microseconds(int64_t(dlsr) * 1'000'000 / 65536);
    Duration sample = now - s.at - held;
    if (sample < Duration::zero()) sample = Duration::zero();
    last_ = sample;
    srtt_ = has_ ? srtt_ + (sample - srtt_) / 8 : sample;
    has_ = true;
    return sample;
  }
  return std::nullopt;
}

}  // namespace lss
