#pragma once
// Reception statistics of one incoming SSRC for RTCP receiver reports
// (RFC 3550 appendix A.1, A.3, A.8): loss, extended sequence, jitter, LSR/DLSR.
#include <cstdint>

#include "common/time.hpp"
#include "rtp/rtcp_packets.hpp"

namespace lss {

class RtpReceiveStats {
 public:
  explicit RtpReceiveStats(uint32_t clock_rate) : clock_rate_(clock_rate ? clock_rate : 90000) {}

  void update(uint16_t seq, uint32_t rtp_timestamp, Timestamp arrival);
  void on_sender_report(uint64_t ntp, Timestamp arrival);
  bool has_packets() const { return received_ > 0; }
  uint64_t packets_received() const { return received_; }
  uint32_t extended_highest_seq() const { return uint32_t(cycles_ + max_seq_); }
  ReportBlock report_block(uint32_t ssrc, Timestamp now);
  // The fraction lost (0..255) of the last report_block().
  uint8_t last_fraction_lost() const { return last_fraction_lost_; }

 private:
  uint32_t clock_rate_;
  bool started_ = false;
  uint16_t max_seq_ = 0;
  uint64_t cycles_ = 0;  // multiples of 65536
  uint32_t base_seq_ = 0;
  uint64_t received_ = 0;
  uint64_t expected_prior_ = 0, received_prior_ = 0;
  double jitter_ = 0;
  int64_t last_transit_ = 0;
  bool have_transit_ = false;
  uint32_t last_sr_ = 0;
  Timestamp last_sr_arrival_{};
  bool have_sr_ = false;
  uint8_t last_fraction_lost_ = 0;
};

}  // namespace lss
