#include "rtp/retransmission_limiter.hpp"

#include <algorithm>

namespace lss {

RetransmissionLimiter::RetransmissionLimiter(Config config)
    : config_(config), rtt_(config.default_rtt) {}

Duration RetransmissionLimiter::holdoff() const {
  return std::clamp(rtt_, config_.min_holdoff, config_.max_holdoff);
}

void RetransmissionLimiter::refill(Timestamp now) {
  const double depth =
      double(config_.budget_bps) / 8 * std::chrono::duration<double>(config_.burst).count();
  if (!started_) {
    started_ = true;
    tokens_bytes_ = depth;
  } else {
    const double dt = std::chrono::duration<double>(now - last_refill_).count();
    if (dt > 0)
      tokens_bytes_ = std::min(depth, tokens_bytes_ + dt * double(config_.budget_bps) / 8);
  }
  last_refill_ = now;
}

RetransmissionLimiter::Verdict RetransmissionLimiter::allow(uint16_t seq, size_t bytes,
                                                            Timestamp now) {
  Slot& slot = resent_[seq % resent_.size()];
  const auto now_ms = uint32_t(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  const auto holdoff_ms = std::chrono::duration_cast<std::chrono::milliseconds>(holdoff()).count();
  if (slot.used && slot.seq == seq && int64_t(uint32_t(now_ms - slot.at_ms)) < holdoff_ms) {
    ++counters_.holdoff;
    return Verdict::kHoldoff;
  }
  refill(now);
  if (tokens_bytes_ < double(bytes)) {
    ++counters_.over_budget;
    return Verdict::kOverBudget;
  }
  tokens_bytes_ -= double(bytes);
  slot = Slot{seq, true, now_ms};
  ++counters_.sent;
  return Verdict::kSend;
}

bool RetransmissionLimiter::charge(size_t bytes, Timestamp now) {
  refill(now);
  if (tokens_bytes_ < double(bytes)) return false;
  tokens_bytes_ -= double(bytes);
  return true;
}

}  // namespace lss
