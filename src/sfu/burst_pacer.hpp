#pragma once
// When each packet to one viewer may leave (PACING=on): a leaky bucket at
// `rate_bps` (a multiple of the viewer's bandwidth estimate) that lets the
// first kBurst of a burst go at once and spreads the rest, so a keyframe's
// 50-100 packets do not land in the viewer's bottleneck queue all at once
// (a shallow router queue drops the tail of such a burst, and every dropped
// packet costs a NACK round trip). The same idea as libwebrtc's pacer, but
// only the send times are decided here: the packets themselves wait in the
// media worker (net/paced_sends.hpp), which sends them at those times.
// Only video passes through it (Subscriber::forward): audio and repairs go
// at once, as libwebrtc's pacer puts them ahead of queued video.
//
// The release times of one viewer never go backwards, so its packets stay
// in order; and no packet waits more than kMaxDelay: past that the estimate
// is wrong (or the stream outgrew the path), and holding packets longer
// would only turn loss into latency.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "common/time.hpp"

namespace lss::sfu {

class BurstPacer {
 public:
  static constexpr Duration kBurst = std::chrono::milliseconds(5);
  static constexpr Duration kMaxDelay = std::chrono::milliseconds(80);

  // When a packet of `bytes` given at `now` should leave, at `rate_bps`
  // (0: unpaced). Returns `now` itself when it may leave at once.
  Timestamp release(size_t bytes, Timestamp now, uint64_t rate_bps) {
    if (rate_bps == 0) return now;
    Timestamp start = std::max(now, free_at_);
    if (start - now > kMaxDelay) start = now + kMaxDelay;
    free_at_ = start + std::chrono::duration_cast<Duration>(
                           std::chrono::duration<double>(double(bytes) * 8 / double(rate_bps)));
    const Timestamp at = start - kBurst;
    if (at > last_release_) last_release_ = at;
    return at > now ? at : now;
  }

  // When a packet that must not overtake those held (probe padding: it is
  // numbered transport-wide when it is made, so sent past held media it
  // would reach the viewer first, and the viewer's feedback would report
  // the held packets missing and out of order) may leave: right after the
  // last one held, or now. It keeps its own rate: the bucket is not charged.
  Timestamp after_held(Timestamp now) const { return std::max(now, last_release_); }

 private:
  Timestamp free_at_{};       // when a link at the pacing rate would have sent all given so far
  Timestamp last_release_{};  // the latest release time given
};

}  // namespace lss::sfu
