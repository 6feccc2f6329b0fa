#pragma once
// Asks the publisher again for packets it sent that never arrived (RFC 4585
// generic NACK), so neither viewers nor the recording are left with a hole
// when a retransmission can fill it. Tracks missing sequence numbers in a
// fixed table: the per-packet call allocates nothing.
//
// A NACK is repeated only after the repair had time to come back: the
// interval follows the publisher's round trip (set_rtt, from RTCP XR
// RRTR/DLRR), never below the configured floor. Without it, a publisher 80 ms
// away was asked for every lost packet three times before the first repair
// could arrive. (Timing NACK-to-repair instead underestimates: a sender's
// probes resend recent packets and fill holes early.)
#include <array>
#include <cstdint>
#include <vector>

#include "common/time.hpp"

namespace lss {

class NackGenerator {
 public:
  static constexpr size_t kMaxMissing = 256;
  static constexpr int kMaxTries = 10;

  static constexpr Duration kMaxRetryInterval = std::chrono::milliseconds(400);

  // `retry_interval`: the floor, and the interval until a round trip is known.
  explicit NackGenerator(Duration retry_interval = std::chrono::milliseconds(30))
      : retry_(retry_interval) {}

  // Every media packet of the stream (after RTX unwrapping).
  void on_packet(uint16_t seq, Timestamp now);
  // Sequence numbers to NACK now (new losses and due retries).
  void collect(Timestamp now, std::vector<uint16_t>& out);
  size_t missing() const { return count_; }
  // The publisher's round trip, as measured.
  void set_rtt(Duration rtt) { rtt_ = rtt; }
  // The interval between two NACKs of the same packet now.
  Duration retry_interval() const;

 private:
  struct Entry {
    uint16_t seq = 0;
    bool used = false;
    int tries = 0;
    Timestamp next{};
  };
  void add(uint16_t seq, Timestamp now);
  void remove(uint16_t seq);

  std::array<Entry, kMaxMissing> table_{};
  size_t count_ = 0;
  bool started_ = false;
  uint16_t highest_ = 0;
  Duration retry_;
  Duration rtt_{0};  // zero: not measured yet
};

}  // namespace lss
