#pragma once
// Receiver side of transport-wide congestion control
// (draft-holmer-rmcat-transport-wide-cc-extensions-01): records when each
// transport-wide sequence number arrived and reports it back, so the
// publisher's bandwidth estimator can work. Recording is on the per-packet
// path, so it writes into a fixed ring and never allocates.
//
// Every sequence number from the first one seen onwards is reported once, as
// received (with its arrival time) or as not received: each feedback starts at
// the first sequence number not reported yet, so packets missing after the end
// of one feedback (a feedback ends at the highest received) lead the next one.
// Like libwebrtc's receiver, a late packet whose sequence number was already
// reported as lost moves the start back to it, so it is reported again as
// received, with everything after it (the sender keeps lost packets for that).
// Only what the ring still holds can be reported: after a gap longer than the
// ring, reporting resumes at the oldest sequence number the ring holds.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.hpp"
#include "common/time.hpp"

namespace lss {

class TwccRecorder {
 public:
  static constexpr size_t kRing = 2048;         // > packets between two feedbacks at any sane rate
  static constexpr size_t kMaxPerPacket = 400;  // status entries per feedback packet
  static constexpr size_t kMaxPacketsPerCall = 8;  // feedback packets per build_feedback()

  void record(uint16_t transport_seq, Timestamp arrival);
  // Feedback packets covering everything recorded since the last call.
  std::vector<Bytes> build_feedback(uint32_t sender_ssrc, uint32_t media_ssrc, Timestamp now);

 private:
  struct Slot {
    int64_t seq = -1;  // unwrapped; the slot is valid for `seq` only
    int64_t arrival_us = 0;
  };
  const Slot* find(int64_t seq) const;

  std::array<Slot, kRing> ring_{};
  int64_t highest_ = -1;         // highest unwrapped sequence received; its slot is always valid
  int64_t next_to_report_ = -1;  // first unwrapped sequence the next feedback reports
  uint8_t feedback_count_ = 0;
};

}  // namespace lss
