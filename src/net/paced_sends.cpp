#include "net/paced_sends.hpp"

#include <algorithm>
#include <cstring>

namespace lss::net {

PacedSends::PacedSends() : data_(new uint8_t[kSlots * kSlotSize]), slots_(new Slot[kSlots]) {
  for (size_t i = kSlots; i-- > 0;) {
    slots_[i].next = free_;
    free_ = int32_t(i);
  }
}

bool PacedSends::hold(ByteSpan data, const SocketAddress& to, Timestamp release, Timestamp now,
                      uint32_t tag) {
  if (data.size() > kSlotSize) return false;
  if (free_ < 0) {
    ++counters_.full;
    return false;
  }
  if (cursor_ < 0) cursor_ = to_bucket(now);
  // Never behind the wheel (it would wait a whole turn) nor beyond it.
  const int64_t bucket =
      std::clamp<int64_t>(to_bucket(release), cursor_, cursor_ + int64_t(kBuckets) - 1);
  const int32_t i = free_;
  Slot& s = slots_[size_t(i)];
  free_ = s.next;
  std::memcpy(data_.get() + size_t(i) * kSlotSize, data.data(), data.size());
  s.to = to;
  s.size = uint16_t(data.size());
  s.tag = tag;
  s.next = -1;
  Bucket& b = buckets_[size_t(bucket) % kBuckets];
  if (b.tail >= 0) {
    slots_[size_t(b.tail)].next = i;
  } else {
    b.head = i;
  }
  b.tail = i;
  ++held_;
  ++counters_.held;
  return true;
}

}  // namespace lss::net
