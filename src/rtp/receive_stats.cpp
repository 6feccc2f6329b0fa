#include "rtp/receive_stats.hpp"

#include <algorithm>
#include <cmath>

namespace lss {

void RtpReceiveStats::update(uint16_t seq, uint32_t rtp_ts, Timestamp arrival) {
  if (!started_) {
    started_ = true;
    max_seq_ = seq;
    base_seq_ = seq;
  } else {
    const uint16_t delta = uint16_t(seq - max_seq_);
    if (delta != 0 && delta < 0x8000) {  // in order (possibly with a gap)
      if (seq < max_seq_) cycles_ += 65536;
      max_seq_ = seq;
    }
  }
  ++received_;
  // Interarrival jitter in RTP clock units (A.8).
  const int64_t arrival_units =
      int64_t(std::chrono::duration<double>(arrival.time_since_epoch()).count() * clock_rate_);
  const int64_t transit = arrival_units - int64_t(rtp_ts);
  if (have_transit_) {
    const double d = std::fabs(double(transit - last_transit_));
    jitter_ += (d - jitter_) / 16.0;
  }
  last_transit_ = transit;
  have_transit_ = true;
}

void RtpReceiveStats::on_sender_report(uint64_t ntp, Timestamp arrival) {
  last_sr_ = uint32_t(ntp >> 16);  // middle 32 bits
  last_sr_arrival_ = arrival;
  have_sr_ = true;
}

ReportBlock RtpReceiveStats::report_block(uint32_t ssrc, Timestamp now) {
  ReportBlock b;
  b.ssrc = ssrc;
  const uint64_t ext_max = cycles_ + max_seq_;
  const uint64_t expected = ext_max - base_seq_ + 1;
  const int64_t lost = int64_t(expected) - int64_t(received_);
  b.cumulative_lost = int32_t(std::clamp<int64_t>(lost, -0x800000, 0x7FFFFF));
  const uint64_t expected_interval = expected - expected_prior_;
  const uint64_t received_interval = received_ - received_prior_;
  expected_prior_ = expected;
  received_prior_ = received_;
  const int64_t lost_interval = int64_t(expected_interval) - int64_t(received_interval);
  b.fraction_lost = (expected_interval == 0 || lost_interval <= 0)
                        ? 0
                        : uint8_t((lost_interval << 8) / int64_t(expected_interval));
  last_fraction_lost_ = b.fraction_lost;
  b.extended_highest_seq = uint32_t(ext_max);
  b.jitter = uint32_t(jitter_);
  if (have_sr_) {
    b.lsr = last_sr_;
    b.dlsr = uint32_t(std::chrono::duration<double>(now - last_sr_arrival_).count() * 65536.0);
  }
  return b;
}

}  // namespace lss
