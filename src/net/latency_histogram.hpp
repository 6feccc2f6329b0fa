#pragma once
// How long forwarded packets spend in the server: from the receive batch
// that brought a packet in (or the relay hand-off that carried it over from
// another worker) to the sendmmsg that hands its copies to the kernel, or,
// for a copy held by pacing (PACING), to its release.
// Written by one media worker, read from any thread: relaxed atomic counts
// in quarter-octave buckets (about 19 % wide), cumulative since start; a
// reader diffs two snapshots for an interval.
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>

namespace lss::net {

class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = 96;  // up to 2^24 µs (16 s); the last one takes the rest

  // `count` datagrams that waited `us` microseconds (writer thread only).
  void add(uint64_t us, uint64_t count) {
    auto& c = counts_[bucket(us)];
    c.store(c.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
    sum_us_.store(sum_us_.load(std::memory_order_relaxed) + us * count, std::memory_order_relaxed);
  }
  // Every wait added so far, in µs (for a Prometheus histogram's _sum).
  uint64_t sum_us() const { return sum_us_.load(std::memory_order_relaxed); }
  std::array<uint64_t, kBuckets> snapshot() const {
    std::array<uint64_t, kBuckets> out{};
    for (size_t i = 0; i < kBuckets; ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
    return out;
  }
  // Bucket i holds waits of at most this many microseconds.
  static uint64_t upper_us(size_t i) { return uint64_t(std::exp2(double(i + 1) / 4)) - 1; }
  // The upper bound of the bucket holding quantile `q` (0..1) of `counts`;
  // 0 when empty.
  static uint64_t quantile_us(const std::array<uint64_t, kBuckets>& counts, double q) {
    uint64_t total = 0;
    for (uint64_t c : counts) total += c;
    if (total == 0) return 0;
    const auto rank = uint64_t(std::ceil(q * double(total)));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts[i];
      if (seen >= rank && counts[i]) return upper_us(i);
    }
    return upper_us(kBuckets - 1);
  }
  static size_t bucket(uint64_t us) {
    const auto i = size_t(4 * std::log2(double(us) + 1));
    return i < kBuckets ? i : kBuckets - 1;
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace lss::net
