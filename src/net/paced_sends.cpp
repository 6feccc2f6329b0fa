#include "net/paced_sends.hpp"

#include <algorithm>
#include <cstring>

namespace lss::net {

PacedSends::PacedSends()
    : data_(std::make_unique_for_overwrite<uint8_t[]>(kSlots * kSlotSize)),
      slots_(std::make_unique_for_overwrite<Slot[]>(kSlots)) {}

bool PacedSends::hold(ByteSpan data, const SocketAddress& to, Timestamp release, Timestamp now,
                      uint32_t tag, Timestamp arrival) {
  if (data.size() > kSlotSize) return false;
  int32_t i;
  if (free_ >= 0) {
    i = free_;
    free_ = slots_[size_t(i)].next;
  } else if (fresh_ < kSlots) {
    i = int32_t(fresh_++);
  } else {
    ++counters_.full;
    return false;
  }
  if (cursor_ < 0) cursor_ = to_bucket(now);
  // Never behind the wheel (it would wait a whole turn) nor beyond it.
  const int64_t bucket =
      std::clamp<int64_t>(to_bucket(release), cursor_, cursor_ + int64_t(kBuckets) - 1);
  Slot& s = slots_[size_t(i)];
  std::memcpy(data_.get() + size_t(i) * kSlotSize, data.data(), data.size());
  s.to = to;
  s.size = uint16_t(data.size());
  s.tag = tag;
  s.arrival = arrival;
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
