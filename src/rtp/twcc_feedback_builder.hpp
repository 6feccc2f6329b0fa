#pragma once
// Receiver side of transport-wide congestion control
// (draft-holmer-rmcat-transport-wide-cc-extensions-01): records when each
// transport-wide sequence number arrived and reports it back, so the
// publisher's bandwidth estimator can work. Recording is on the per-packet
// path, so it writes into a fixed ring and never allocates.
#include <array>
#include <cstdint>
#include <vector>

#include "common/bytes.hpp"
#include "common/time.hpp"

namespace lss {

class TwccRecorder {
 public:
  void record(uint16_t transport_seq, Timestamp arrival);
  // Feedback packets covering everything recorded since the last call.
  std::vector<Bytes> build_feedback(uint32_t sender_ssrc, uint32_t media_ssrc, Timestamp now);

 private:
  static constexpr size_t kRing = 2048;  // > packets between two feedbacks at any sane rate
  static constexpr size_t kMaxPerPacket = 400;
  struct Slot {
    int64_t seq = -1;  // unwrapped
    int64_t arrival_us = 0;
  };
  std::array<Slot, kRing> ring_{};
  int64_t highest_ = -1;  // highest unwrapped sequence seen
  int64_t next_to_report_ = -1;
  uint8_t feedback_count_ = 0;
};

}  // namespace lss
