#include "cc/probe_controller.hpp"

namespace lss::cc {

void ProbeController::request(uint64_t bps) {
  if (bps == 0 || count_ == kMaxQueued) return;
  queue_[(head_ + count_) % kMaxQueued] = bps;
  ++count_;
}

std::optional<ProbeCluster> ProbeController::next(Timestamp now) {
  if (count_ == 0 || (busy_until_ && now < *busy_until_)) return std::nullopt;
  ProbeCluster c;
  c.id = next_id_;
  next_id_ = (next_id_ + 1) % kMaxId;
  c.bps = queue_[head_];
  head_ = (head_ + 1) % kMaxQueued;
  --count_;
  c.duration = kClusterDuration;
  c.min_bytes = size_t(double(c.bps) / 8.0 * std::chrono::duration<double>(c.duration).count());
  c.min_packets = kMinPackets;
  busy_until_ = now + c.duration + kGap;
  return c;
}

}  // namespace lss::cc
