#pragma once
// Asks the publisher again for packets it sent that never arrived (RFC 4585
// generic NACK), so neither viewers nor the recording are left with a hole
// when a retransmission can fill it. Tracks missing sequence numbers in a
// fixed table: the per-packet call allocates nothing.
#include <array>
#include <cstdint>
#include <vector>

#include "common/time.hpp"

namespace lss {

class NackGenerator {
 public:
  static constexpr size_t kMaxMissing = 256;
  static constexpr int kMaxTries = 10;

  explicit NackGenerator(Duration retry_interval = std::chrono::milliseconds(30))
      : retry_(retry_interval) {}

  // Every media packet of the stream (after RTX unwrapping).
  void on_packet(uint16_t seq, Timestamp now);
  // Sequence numbers to NACK now (new losses and due retries).
  void collect(Timestamp now, std::vector<uint16_t>& out);
  size_t missing() const { return count_; }

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
};

}  // namespace lss
