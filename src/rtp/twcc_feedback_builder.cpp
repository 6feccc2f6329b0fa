#include "rtp/twcc_feedback_builder.hpp"

#include "rtp/rtcp_packets.hpp"

namespace lss {

void TwccRecorder::record(uint16_t seq, Timestamp arrival) {
  int64_t unwrapped;
  if (last_unwrapped_ < 0) {
    unwrapped = seq;
  } else {
    const int16_t diff = int16_t(seq - uint16_t(last_unwrapped_));
    unwrapped = last_unwrapped_ + diff;
  }
  if (unwrapped > last_unwrapped_) last_unwrapped_ = unwrapped;
  if (next_to_report_ >= 0 && unwrapped < next_to_report_) return;  // already reported
  if (arrivals_.size() > 4096) arrivals_.erase(arrivals_.begin());  // bound memory
  arrivals_.emplace(
      unwrapped,
      std::chrono::duration_cast<std::chrono::microseconds>(arrival.time_since_epoch()).count());
}

std::vector<Bytes> TwccRecorder::build_feedback(uint32_t sender_ssrc, uint32_t media_ssrc,
                                                Timestamp) {
  std::vector<Bytes> out;
  while (!arrivals_.empty() && out.size() < 8) {
    int64_t base = arrivals_.begin()->first;
    if (next_to_report_ >= 0 && next_to_report_ < base && base - next_to_report_ < 100) {
      base = next_to_report_;  // report recent gaps as lost
    }
    TransportCcFeedback fb;
    fb.sender_ssrc = sender_ssrc;
    fb.media_ssrc = media_ssrc;
    fb.base_seq = uint16_t(base);
    fb.feedback_count = feedback_count_++;
    const int64_t first_arrival = arrivals_.begin()->second;
    fb.reference_time = int32_t((first_arrival / 64000) & 0xFFFFFF);
    int64_t prev = (first_arrival / 64000) * 64000;  // reference time in µs
    int64_t seq = base;
    auto it = arrivals_.begin();
    while (it != arrivals_.end() && fb.packets.size() < kMaxPerPacket) {
      if (seq < it->first) {
        if (it->first - seq > 1000) break;  // huge gap: start a new packet there
        fb.packets.push_back({uint16_t(seq), false, 0});
        ++seq;
        continue;
      }
      const int64_t delta = (it->second - prev) / 250;
      if (delta < -32768 || delta > 32767) break;  // does not fit: next packet
      fb.packets.push_back({uint16_t(seq), true, int32_t(delta)});
      prev += delta * 250;
      ++seq;
      it = arrivals_.erase(it);
    }
    if (fb.packets.empty()) {
      // Could not encode the first entry (e.g. too far from the reference): drop it.
      arrivals_.erase(arrivals_.begin());
      continue;
    }
    next_to_report_ = seq;
    Bytes pkt;
    build_transport_cc(fb, pkt);
    out.push_back(std::move(pkt));
  }
  return out;
}

}  // namespace lss
