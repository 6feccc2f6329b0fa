#include "rtp/twcc_feedback_builder.hpp"

#include "rtp/rtcp_packets.hpp"

namespace lss {

void TwccRecorder::record(uint16_t seq, Timestamp arrival) {
  const int64_t unwrapped =
      highest_ < 0 ? int64_t(seq) : highest_ + int16_t(uint16_t(seq - uint16_t(highest_)));
  if (unwrapped < 0) return;
  if (next_to_report_ >= 0 && unwrapped < next_to_report_) return;  // already reported
  if (unwrapped > highest_) highest_ = unwrapped;
  if (next_to_report_ < 0) next_to_report_ = unwrapped;
  Slot& s = ring_[size_t(unwrapped) % kRing];
  s.seq = unwrapped;
  s.arrival_us =
      std::chrono::duration_cast<std::chrono::microseconds>(arrival.time_since_epoch()).count();
}

std::vector<Bytes> TwccRecorder::build_feedback(uint32_t sender_ssrc, uint32_t media_ssrc,
                                                Timestamp) {
  std::vector<Bytes> out;
  if (highest_ < 0) return out;
  // Anything older than the ring can hold is gone: start where data is.
  if (highest_ - next_to_report_ >= int64_t(kRing)) next_to_report_ = highest_ - int64_t(kRing) + 1;
  auto slot = [&](int64_t seq) -> const Slot* {
    const Slot& s = ring_[size_t(seq) % kRing];
    return s.seq == seq ? &s : nullptr;
  };
  while (next_to_report_ <= highest_ && out.size() < 8) {
    // The first packet of a feedback must be a received one (it sets the reference time).
    int64_t base = next_to_report_;
    while (base <= highest_ && !slot(base)) ++base;
    if (base > highest_) break;
    TransportCcFeedback fb;
    fb.sender_ssrc = sender_ssrc;
    fb.media_ssrc = media_ssrc;
    fb.base_seq = uint16_t(base);
    fb.feedback_count = feedback_count_++;
    const int64_t first_arrival = slot(base)->arrival_us;
    fb.reference_time = int32_t((first_arrival / 64000) & 0xFFFFFF);
    int64_t prev = (first_arrival / 64000) * 64000;  // the reference time in µs
    int64_t seq = base;
    for (; seq <= highest_ && fb.packets.size() < kMaxPerPacket; ++seq) {
      const Slot* s = slot(seq);
      if (!s) {
        fb.packets.push_back({uint16_t(seq), false, 0});
        continue;
      }
      const int64_t delta = (s->arrival_us - prev) / 250;
      if (delta < -32768 || delta > 32767) break;  // does not fit: next feedback packet
      fb.packets.push_back({uint16_t(seq), true, int32_t(delta)});
      prev += delta * 250;
    }
    // Trailing losses are not reported yet: they may still arrive.
    while (!fb.packets.empty() && !fb.packets.back().received) fb.packets.pop_back();
    next_to_report_ = base + int64_t(fb.packets.size());
    Bytes pkt;
    build_transport_cc(fb, pkt);
    out.push_back(std::move(pkt));
  }
  return out;
}

}  // namespace lss
