#pragma once
// Receiver side of transport-wide congestion control
// (draft-holmer-rmcat-transport-wide-cc-extensions-01): records when each
// transport-wide sequence number arrived and reports it back, so the
// publisher's bandwidth estimator can work.
#include <cstdint>
#include <map>
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
  static constexpr size_t kMaxPerPacket = 400;
  std::map<int64_t, int64_t> arrivals_;  // unwrapped seq -> arrival in µs
  int64_t last_unwrapped_ = -1;
  int64_t next_to_report_ = -1;
  uint8_t feedback_count_ = 0;
};

}  // namespace lss
