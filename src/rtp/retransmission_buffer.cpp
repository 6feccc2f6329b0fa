#include "rtp/retransmission_buffer.hpp"

#include <cstring>

namespace lss {

RetransmissionBuffer::RetransmissionBuffer(size_t slots, Duration max_age)
    : slots_(slots ? slots : 1), data_(slots_.size() * kSlotSize), max_age_(max_age) {}

void RetransmissionBuffer::store(ByteSpan packet, uint16_t seq, Timestamp now) {
  if (packet.size() > kSlotSize) return;
  const size_t i = seq % slots_.size();
  Slot& s = slots_[i];
  s.seq = seq;
  s.size = uint16_t(packet.size());
  s.used = true;
  s.stored = now;
  std::memcpy(data_.data() + i * kSlotSize, packet.data(), packet.size());
}

std::optional<ByteSpan> RetransmissionBuffer::get(uint16_t seq, Timestamp now) const {
  const size_t i = seq % slots_.size();
  const Slot& s = slots_[i];
  if (!s.used || s.seq != seq || now - s.stored > max_age_) return std::nullopt;
  return ByteSpan(data_.data() + i * kSlotSize, s.size);
}

std::optional<ByteSpan> RetransmissionBuffer::get(uint16_t seq) const {
  const size_t i = seq % slots_.size();
  const Slot& s = slots_[i];
  if (!s.used || s.seq != seq) return std::nullopt;
  return ByteSpan(data_.data() + i * kSlotSize, s.size);
}

}  // namespace lss
