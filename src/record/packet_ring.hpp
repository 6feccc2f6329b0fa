#pragma once
// Hands RTP packets from a media worker to the recording thread without locks
// or allocation: a single-producer single-consumer ring of fixed slots. When
// the recorder falls behind (a slow disk), new packets are dropped and counted
// so forwarding never waits.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/time.hpp"

namespace lss::record {

class PacketRing {
 public:
  static constexpr size_t kSlotSize = 1500;
  // A slot whose track has this bit carries a sender report of that track:
  // 8 bytes NTP time + 4 bytes RTP timestamp.
  static constexpr uint8_t kSenderReportFlag = 0x80;
  struct Slot {
    uint16_t size;
    uint8_t track;
    Timestamp arrival;
    uint8_t data[kSlotSize];
  };

  explicit PacketRing(size_t capacity_pow2 = 2048)
      : slots_(capacity_pow2), mask_(capacity_pow2 - 1) {}

  // Producer (media thread).
  bool push(uint8_t track, const uint8_t* data, size_t size, Timestamp arrival) {
    if (size > kSlotSize) return false;
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) >= slots_.size()) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    Slot& s = slots_[head & mask_];
    s.size = uint16_t(size);
    s.track = track;
    s.arrival = arrival;
    std::memcpy(s.data, data, size);
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer (recording thread): calls f(slot) for each queued packet.
  template <typename F>
  size_t drain(F&& f, size_t max = SIZE_MAX) {
    size_t tail = tail_.load(std::memory_order_relaxed);
    const size_t head = head_.load(std::memory_order_acquire);
    size_t n = 0;
    while (tail != head && n < max) {
      f(slots_[tail & mask_]);
      ++tail;
      ++n;
      tail_.store(tail, std::memory_order_release);
    }
    return n;
  }

  // Like drain, but the slots stay the consumer's until release(n): their
  // data may be read after `f` returns (a fan-out that waits for its batch).
  template <class F>
  size_t visit(F&& f, size_t max) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    const size_t head = head_.load(std::memory_order_acquire);
    size_t n = 0;
    while (tail + n != head && n < max) {
      f(slots_[(tail + n) & mask_]);
      ++n;
    }
    return n;
  }
  // Gives the `n` oldest slots back to the producer (after visit()).
  void release(size_t n) {
    tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  std::vector<Slot> slots_;
  size_t mask_;
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace lss::record
