#pragma once
// Bits per second over the last second, in ten 100 ms buckets: how fast a
// simulcast layer arrives, to rank layers and fit them to a viewer's
// estimate. The per-packet call allocates nothing.
#include <array>
#include <cstdint>

#include "common/time.hpp"

namespace lss {

class RateMeter {
 public:
  void add(size_t bytes, Timestamp now) {
    advance(now);
    buckets_[current_] += bytes;
    last_ = now;
  }
  // Over the last full second (the current bucket counts as it stands).
  uint64_t bps(Timestamp now) {
    advance(now);
    uint64_t sum = 0;
    for (uint64_t b : buckets_) sum += b;
    return sum * 8;
  }
  Timestamp last_packet() const { return last_; }

 private:
  void advance(Timestamp now) {
    const int64_t slot =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() / 100;
    if (!started_) {
      started_ = true;
      slot_ = slot;
      return;
    }
    for (int64_t s = slot_ + 1; s <= slot && s <= slot_ + int64_t(buckets_.size()); ++s) {
      current_ = (current_ + 1) % buckets_.size();
      buckets_[current_] = 0;
    }
    if (slot > slot_) slot_ = slot;
  }

  std::array<uint64_t, 10> buckets_{};
  size_t current_ = 0;
  int64_t slot_ = 0;
  bool started_ = false;
  Timestamp last_{};
};

}  // namespace lss
