#include "rtp/twcc_feedback_builder.hpp"

#include <algorithm>

#include "rtp/rtcp_packets.hpp"

namespace lss {
namespace {

constexpr int64_t kRefTimeUs = 64000;  // reference time unit
constexpr int64_t kDeltaUs = 250;      // receive delta unit

// Nearest multiple of kDeltaUs, halves away from zero.
int64_t to_delta_units(int64_t us) {
  return us >= 0 ? (us + kDeltaUs / 2) / kDeltaUs : -((-us + kDeltaUs / 2) / kDeltaUs);
}

}  // namespace

const TwccRecorder::Slot* TwccRecorder::find(int64_t seq) const {
  const Slot& s = ring_[size_t(seq) % kRing];
  return s.seq == seq ? &s : nullptr;
}

void TwccRecorder::record(uint16_t seq, Timestamp arrival) {
  // The first sequence number unwraps to [65536, 131071], so packets from
  // before it (reordered) stay positive; 65536 % kRing == 0 keeps slot = seq % kRing.
  const int64_t unwrapped =
      highest_ < 0 ? int64_t(seq) + 65536 : highest_ + int16_t(uint16_t(seq - uint16_t(highest_)));
  if (unwrapped < 0) return;
  if (highest_ >= 0 && unwrapped <= highest_ - int64_t(kRing)) return;  // older than the ring
  Slot& s = ring_[size_t(unwrapped) % kRing];
  if (s.seq == unwrapped) return;  // duplicate: the first arrival counts
  s.seq = unwrapped;
  s.arrival_us =
      std::chrono::duration_cast<std::chrono::microseconds>(arrival.time_since_epoch()).count();
  if (unwrapped > highest_) highest_ = unwrapped;
  // First packet, or a packet from before what the next feedback starts at
  // (reordered, maybe already reported as lost): report from it again.
  if (next_to_report_ < 0 || unwrapped < next_to_report_) next_to_report_ = unwrapped;
}

std::vector<Bytes> TwccRecorder::build_feedback(uint32_t sender_ssrc, uint32_t media_ssrc,
                                                Timestamp) {
  std::vector<Bytes> out;
  if (highest_ < 0) return out;
  // Anything older than the ring can hold is gone: start at the oldest it holds.
  if (highest_ - next_to_report_ >= int64_t(kRing)) next_to_report_ = highest_ - int64_t(kRing) + 1;
  while (next_to_report_ <= highest_ && out.size() < kMaxPacketsPerCall) {
    // Starts at the first sequence number not reported yet, received or not.
    const int64_t base = next_to_report_;
    // The reference time comes from the first received packet at or after
    // `base`; there is one, as `highest_` is always in the ring.
    int64_t first = base;
    while (!find(first)) ++first;
    const int64_t ref = find(first)->arrival_us / kRefTimeUs;
    TransportCcFeedback fb;
    fb.sender_ssrc = sender_ssrc;
    fb.media_ssrc = media_ssrc;
    fb.base_seq = uint16_t(base);
    fb.feedback_count = feedback_count_++;
    fb.reference_time = int32_t(ref & 0xFFFFFF);
    fb.packets.reserve(std::min<size_t>(kMaxPerPacket, size_t(highest_ - base + 1)));
    int64_t prev = ref * kRefTimeUs;  // the time the deltas add up to so far
    for (int64_t seq = base; seq <= highest_ && fb.packets.size() < kMaxPerPacket; ++seq) {
      const Slot* s = find(seq);
      if (!s) {
        fb.packets.push_back({uint16_t(seq), false, 0});
        continue;
      }
      const int64_t delta = to_delta_units(s->arrival_us - prev);
      // Does not fit (never for the first received one): the next packet goes on.
      if (delta < -32768 || delta > 32767) break;
      fb.packets.push_back({uint16_t(seq), true, int32_t(delta)});
      prev += delta * kDeltaUs;
    }
    // The feedback ends at `highest_` (received), or is cut by the size limit
    // or a delta that does not fit; losses just before a cut go out now either way.
    next_to_report_ = base + int64_t(fb.packets.size());
    Bytes pkt;
    build_transport_cc(fb, pkt);
    out.push_back(std::move(pkt));
  }
  return out;
}

}  // namespace lss
