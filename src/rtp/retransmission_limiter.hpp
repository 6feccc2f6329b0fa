#pragma once
// Decides whether a NACKed packet is resent to one receiver (an SFU's
// answer to "how much repair can this viewer take"):
// - holdoff: a packet resent less than about one RTT ago is still on its
//   way (or queued on the receiver's path), so a repeated NACK for it is not
//   answered again; without this a congested viewer's NACKs multiply its
//   load (each resend queues behind the others and is NACKed again);
// - budget: resends take at most a share of what the receiver can carry (a
//   token bucket refilled at `budget_bps`), so repair never crowds out the
//   live stream.
// Fixed slots indexed by sequence number; no allocation.
#include <array>
#include <cstdint>

#include "common/time.hpp"

namespace lss {

class RetransmissionLimiter {
 public:
  struct Config {
    Duration min_holdoff = std::chrono::milliseconds(20);
    Duration max_holdoff = std::chrono::milliseconds(300);
    Duration default_rtt = std::chrono::milliseconds(100);  // until one is measured
    uint64_t budget_bps = 1'000'000;
    Duration burst = std::chrono::milliseconds(250);  // bucket depth, in time at budget_bps
  };

  RetransmissionLimiter() : RetransmissionLimiter(Config{}) {}
  explicit RetransmissionLimiter(Config config);

  // What the receiver can carry (its bandwidth estimate's share for repair).
  void set_budget_bps(uint64_t bps) { config_.budget_bps = bps; }
  uint64_t budget_bps() const { return config_.budget_bps; }
  void set_rtt(Duration rtt) { rtt_ = rtt; }

  enum class Verdict { kSend, kHoldoff, kOverBudget };
  // Asks to resend packet `seq` of `bytes`; on kSend the packet counts as
  // resent now and the budget is charged.
  Verdict allow(uint16_t seq, size_t bytes, Timestamp now);

  // Charges an extra `bytes` (a redundant copy) if the budget has them.
  bool charge(size_t bytes, Timestamp now);

  struct Counters {
    uint64_t sent = 0, holdoff = 0, over_budget = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  Duration holdoff() const;
  void refill(Timestamp now);

  // 8 bytes: when, in milliseconds modulo 2^32 (holdoffs are 20-300 ms; an
  // entry 49 days old could only hold one resend off once).
  struct Slot {
    uint16_t seq = 0;
    bool used = false;
    uint32_t at_ms = 0;
  };
  static_assert(sizeof(Slot) == 8);
  Config config_;
  Duration rtt_;
  // A resend is held off for at most max_holdoff (300 ms): 256 sequence
  // numbers cover that up to about 850 packets a second (8 Mbit/s), and a
  // slot taken over by a newer number only lets a resend through early.
  // 2 KiB per viewer (1024 slots of 16 bytes were 16 KiB of its memory).
  std::array<Slot, 256> resent_{};
  double tokens_bytes_ = 0;
  Timestamp last_refill_{};
  bool started_ = false;
  Counters counters_;
};

}  // namespace lss
