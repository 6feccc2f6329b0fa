#pragma once
// What the sender actually sent to one viewer, from the packets handed to
// the socket (media, repairs, padding), over sliding 500 ms windows: an SFU
// sends what the layer it forwards carries, often far below the estimate,
// and the rate controller must know when that is so
// (aimd_rate_control.hpp: an app-limited sender's acknowledged rate is not
// the path's capacity). 50 ms buckets in a ring covering 1.5 s, no
// allocation; O(1) per packet.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace lss::cc {

class SentRate {
 public:
  static constexpr int64_t kBucketUs = 50'000;
  static constexpr size_t kWindowBuckets = 10;  // 500 ms
  static constexpr size_t kBuckets = 30;        // 1.5 s kept

  void on_sent(int64_t at_us, size_t bytes);
  // Bits per second over the 500 ms ending at `end_us` (over the time since
  // the first packet while that is shorter, but at least 100 ms of it);
  // nothing before any packet, or for a window older than what is kept.
  std::optional<uint64_t> bps(int64_t end_us) const;
  // The lowest of those rates over the windows ending every 100 ms within
  // `lookback_us` (at most 1 s) before `now_us`: was the sender sending
  // little at some point, before a burst it may be sending now?
  std::optional<uint64_t> min_bps(int64_t now_us, int64_t lookback_us) const;

 private:
  struct Bucket {
    int64_t index = -1;  // at_us / kBucketUs of what it holds
    uint64_t bytes = 0;
  };
  std::array<Bucket, kBuckets> ring_{};
  int64_t first_us_ = -1;
  int64_t newest_index_ = -1;
};

}  // namespace lss::cc
