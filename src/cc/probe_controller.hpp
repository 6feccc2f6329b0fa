#pragma once
// Which probe clusters to send and when: a probe is a short burst at a
// higher rate than the estimate (media plus padding or RTX), whose received
// rate, measured from transport-cc feedback, tells how much the path can
// carry without waiting for the slow additive increase. Requests queue in a
// small fixed ring and are handed out one at a time, never overlapping.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/time.hpp"

namespace lss::cc {

// Send at `bps` in total (media plus padding/RTX) until at least
// `min_bytes` in at least `min_packets` packets have gone out (about
// `duration`), passing `id` with each of them.
struct ProbeCluster {
  int id = 0;
  uint64_t bps = 0;
  size_t min_bytes = 0;
  int min_packets = 0;
  Duration duration{};
};

class ProbeController {
 public:
  static constexpr size_t kMaxQueued = 4;
  static constexpr int kMinPackets = 5;
  static constexpr Duration kClusterDuration = std::chrono::milliseconds(30);
  static constexpr Duration kGap = std::chrono::milliseconds(10);  // between two clusters
  static constexpr int kMaxId = 100;                               // ids cycle in [0, kMaxId)

  // Queues a cluster at `bps`; dropped when kMaxQueued are already waiting.
  void request(uint64_t bps);
  // The next cluster once the previous one has had its time, or nothing.
  std::optional<ProbeCluster> next(Timestamp now);
  void clear() { count_ = 0; }
  size_t queued() const { return count_; }

 private:
  std::array<uint64_t, kMaxQueued> queue_{};
  size_t head_ = 0, count_ = 0;
  int next_id_ = 0;
  std::optional<Timestamp> busy_until_;
};

}  // namespace lss::cc
