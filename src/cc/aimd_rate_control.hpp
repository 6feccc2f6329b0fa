#pragma once
// GCC's delay-based rate controller (draft-ietf-rmcat-gcc-02 §5.5, with
// libwebrtc's refinements): a state machine driven by the over-use
// detector. Over-use cuts the rate to 85 % of the measured throughput;
// normal lets it grow — by 8 % a second while the link capacity is unknown,
// by about one packet per response time (RTT + 100 ms) once over-use has
// shown where the capacity is; under-use holds it while queues drain. It
// never grows past 1.5x the measured throughput (+10 kbit/s), so an
// application-limited sender cannot talk it into an estimate nobody tested.
//
// An SFU is application-limited most of the time: it sends the layer it
// forwards, not the estimate, and a keyframe after a still scene is a burst
// far above what was being acknowledged. So, unlike GCC:
// - a cut never takes more than half the estimate at once;
// - the throughput it cuts to is, during over-use, at least the rate the
//   packets arrived at while the queue built (send_side_bwe.cpp: the
//   bottleneck was busy, so that is what it carries), not only the
//   filtered rate, which lags far behind such a burst;
// - when the sender sent less than half the estimate at some point of the
//   last second (app-limited: `sent_bps`), the acknowledged rate says what
//   the source gave, not what the path carries: it is not taken for the
//   link's capacity, and cuts come at most every kAppLimitedReduceInterval
//   instead of at once whenever it is below half the estimate.
// Without these, one keyframe after a still scene sank the estimate to the
// scene's rate (send_side_bwe_test's AnAppLimitedSenderKeepsItsEstimate).
// A path that really carries less is still found: halvings bring the
// estimate within 2x of what is sent, and the usual cut applies from there.
#include <cstdint>
#include <optional>

#include "cc/bwe_types.hpp"
#include "common/time.hpp"

namespace lss::cc {

class AimdRateControl {
 public:
  enum class State : uint8_t { kHold, kIncrease, kDecrease };

  AimdRateControl(uint64_t start_bps, uint64_t min_bps, uint64_t max_bps);

  // One detector verdict (per feedback) with the measured throughput, when
  // known, and the rate the sender sent at recently (SentRate), when known.
  uint64_t update(BandwidthUsage usage, std::optional<uint64_t> acked_bps, Timestamp now,
                  std::optional<uint64_t> sent_bps = std::nullopt);
  // A probe measured what the path carries.
  void set_estimate(uint64_t bps, Timestamp now);
  void set_rtt(Duration rtt) { rtt_ = rtt; }
  // While over-use persists: is it time to cut again (one RTT after the last
  // change, or the throughput fell below half the estimate; for an
  // app-limited sender kAppLimitedReduceInterval after the last change)?
  bool time_to_reduce_further(Timestamp now, uint64_t acked_bps,
                              std::optional<uint64_t> sent_bps = std::nullopt) const;
  // Sending below this share of the estimate is application-limited.
  static constexpr double kAppLimited = 0.5;
  static constexpr Duration kAppLimitedReduceInterval = std::chrono::milliseconds(500);

  uint64_t estimate() const { return current_bps_; }
  State state() const { return state_; }
  // Where over-use was seen before (an average of the throughput at those
  // moments), if it still looks valid.
  std::optional<double> link_capacity_bps() const;

 private:
  // The throughput at which over-use happens, averaged with its spread: the
  // rate grows slowly near it and fast when far from it.
  struct LinkCapacity {
    double estimate_kbps = -1;
    double deviation = 0.4;
    bool known() const { return estimate_kbps >= 0; }
    void on_overuse(double throughput_bps);
    double upper_bps() const;
    double lower_bps() const;
  };

  double near_max_increase_bps_per_s() const;
  bool app_limited(std::optional<uint64_t> sent_bps) const {
    return sent_bps && double(*sent_bps) < kAppLimited * double(current_bps_);
  }
  uint64_t clamp(double bps) const;

  uint64_t min_bps_, max_bps_;
  uint64_t current_bps_;
  std::optional<uint64_t> latest_throughput_bps_;
  State state_ = State::kHold;
  std::optional<Timestamp> last_change_, last_decrease_;
  LinkCapacity link_;
  Duration rtt_ = std::chrono::milliseconds(200);
};

}  // namespace lss::cc
