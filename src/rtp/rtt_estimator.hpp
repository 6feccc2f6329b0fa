#pragma once
// Round-trip time toward one receiver from its RTCP receiver reports
// (RFC 3550 §6.4.1): a report block's LSR names a sender report we sent and
// DLSR how long the receiver held it, so RTT = now - sent - DLSR. The SFU
// forwards the publisher's SRs (their NTP times are the publisher's), so it
// remembers when it sent each one to this receiver, keyed by the middle 32
// bits of the NTP time that the receiver echoes. Fixed slots; no allocation.
#include <array>
#include <cstdint>
#include <optional>

#include "common/time.hpp"

namespace lss {

class RttEstimator {
 public:
  // A sender report with NTP time `ntp` went to the receiver at `now`.
  void on_sender_report_sent(uint64_t ntp, Timestamp now);
  // A report block's LSR/DLSR; returns the RTT sample when LSR names an SR
  // we sent (0 means the receiver has none yet).
  std::optional<Duration> on_report_block(uint32_t lsr, uint32_t dlsr, Timestamp now);

  // Smoothed (RFC 6298 style, gain 1/8); nullopt until the first sample.
  std::optional<Duration> rtt() const { return has_ ? std::optional(srtt_) : std::nullopt; }
  std::optional<Duration> last_sample() const { return has_ ? std::optional(last_) : std::nullopt; }

 private:
  struct Sent {
    uint32_t middle = 0;
    Timestamp at{};
  };
  std::array<Sent, 16> sent_{};
  size_t next_ = 0;
  Duration srtt_{}, last_{};
  bool has_ = false;
};

}  // namespace lss
