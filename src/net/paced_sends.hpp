#pragma once
// Datagrams held back until their release time (PACING=on; the times come
// from each viewer's sfu::BurstPacer). One per media worker: a fixed pool of
// kSlots datagram buffers (pages touched only as used) on a timing wheel of
// 1 ms buckets, so holding and releasing a packet is a copy and a few index
// updates, never an allocation, and any number of viewers share the pool.
//
// Order: a bucket keeps its datagrams in the order they were held, and
// buckets are released oldest first, so the datagrams of one destination
// (whose release times never go backwards) leave in the order they were
// given. Release is at 1 ms granularity: a datagram may leave up to 1 ms
// before its time, never later than the first release_due() after it.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/bytes.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"

namespace lss::net {

class PacedSends {
 public:
  // A keyframe paced to each of the ~250 browser viewers of a worker is
  // ~13,500 datagrams held at once: 2048 slots sent most of them unpaced.
  // 32 MiB of address space; pages (and slot records) are touched only as
  // used, the most recently freed slot first, so memory follows the peak.
  static constexpr size_t kSlots = 16384;
  static constexpr size_t kSlotSize = 2048;  // the largest datagram held
  static constexpr size_t kBuckets = 256;    // 1 ms each: the longest hold is below this
  static constexpr int64_t kBucketUs = 1000;

  PacedSends();

  // Holds a copy of `data` for `to` until `release`. False when the pool is
  // full or `data` too large (the caller then sends it at once). A release
  // time beyond the wheel is held for as long as the wheel reaches. `tag`
  // and `arrival` (when what it carries reached the server, for the
  // latency histogram) are the caller's, given back at its release.
  bool hold(ByteSpan data, const SocketAddress& to, Timestamp release, Timestamp now,
            uint32_t tag = 0, Timestamp arrival = {});
  // Calls send(ByteSpan, const SocketAddress&, uint32_t tag, Timestamp
  // arrival) for every datagram due at `now` (all of its bucket and the
  // older ones), in order.
  template <class Send>
  void release_due(Timestamp now, Send&& send);

  bool empty() const { return held_ == 0; }
  size_t held() const { return held_; }

  struct Counters {
    uint64_t held = 0, full = 0;  // datagrams held; not held because the pool was full
  };
  const Counters& counters() const { return counters_; }

 private:
  // Left uninitialised until first used (see kSlots).
  struct Slot {
    SocketAddress to;
    uint16_t size;
    int32_t next;
    uint32_t tag;
    Timestamp arrival;
  };
  struct Bucket {
    int32_t head = -1, tail = -1;
  };
  static int64_t to_bucket(Timestamp t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() /
           kBucketUs;
  }

  std::unique_ptr<uint8_t[]> data_;  // kSlots * kSlotSize
  std::unique_ptr<Slot[]> slots_;
  Bucket buckets_[kBuckets];
  int32_t free_ = -1;    // freed slots, linked through Slot::next
  size_t fresh_ = 0;     // slots from here on were never used
  int64_t cursor_ = -1;  // the oldest bucket (absolute ms) that may hold anything
  size_t held_ = 0;
  Counters counters_;
};

template <class Send>
void PacedSends::release_due(Timestamp now, Send&& send) {
  if (held_ == 0) return;
  const int64_t last = to_bucket(now);
  for (; cursor_ <= last && held_ > 0; ++cursor_) {
    Bucket& b = buckets_[size_t(cursor_) % kBuckets];
    for (int32_t i = b.head; i >= 0;) {
      Slot& s = slots_[size_t(i)];
      const int32_t next = s.next;
      send(ByteSpan(data_.get() + size_t(i) * kSlotSize, s.size), s.to, s.tag, s.arrival);
      s.next = free_;
      free_ = i;
      --held_;
      i = next;
    }
    b = Bucket{};
  }
  // Nothing held: the next hold starts the wheel at its own time.
  if (held_ == 0) cursor_ = -1;
}

}  // namespace lss::net
