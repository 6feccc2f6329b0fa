#include "cc/sent_packet_history.hpp"

#include <algorithm>

#include "cc/bwe_types.hpp"

namespace lss::cc {

namespace {
// The first packet unwraps to seq + this, so numbers stay positive even when
// the next ones step back a little.
constexpr int64_t kFirstCycle = 1 << 16;
}  // namespace

SentPacketHistory::SentPacketHistory() : ring_(new SentPacket[kCapacity]) {}

int64_t SentPacketHistory::unwrap(uint16_t seq) const {
  if (newest_ < 0) return -1;
  return newest_ + int16_t(uint16_t(seq - uint16_t(newest_)));
}

int64_t SentPacketHistory::on_sent(uint16_t seq, Timestamp at, size_t bytes, int probe_cluster) {
  const int64_t unwrapped = newest_ < 0 ? kFirstCycle + seq : unwrap(seq);
  newest_ = std::max(newest_, unwrapped);
  SentPacket& p = ring_[size_t(unwrapped) % kCapacity];
  p.send_us = to_us(at);
  p.seq = uint32_t(unwrapped);
  p.size = uint16_t(std::min<size_t>(bytes, 0xFFFF));
  p.probe_cluster = int8_t(probe_cluster >= 0 && probe_cluster <= 127 ? probe_cluster : -1);
  p.flags = SentPacket::kUsed;
  return unwrapped;
}

SentPacket* SentPacketHistory::find(uint16_t seq) {
  if (newest_ < 0) return nullptr;
  const int64_t unwrapped = unwrap(seq);
  if (unwrapped > newest_ || newest_ - unwrapped >= int64_t(kCapacity)) return nullptr;
  SentPacket& p = ring_[size_t(unwrapped) % kCapacity];
  if (!(p.flags & SentPacket::kUsed) || p.seq != uint32_t(unwrapped)) return nullptr;
  return &p;
}

}  // namespace lss::cc
