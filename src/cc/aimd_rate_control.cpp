#include "cc/aimd_rate_control.hpp"

#include <algorithm>
#include <cmath>

namespace lss::cc {

namespace {
constexpr double kBeta = 0.85;                // over-use: back off to this share of throughput
constexpr double kMaxCut = 0.5;               // ...but to no less than this share of the estimate
constexpr double kMultiplicativeRate = 1.08;  // per second, capacity unknown
constexpr double kMinIncreaseBps = 1000;
constexpr double kMinNearMaxIncreaseBpsPerS = 4000;
constexpr double kLinkCapacityAlpha = 0.05;
constexpr double kFrameRate = 30;  // for the "one packet per frame" additive step
constexpr double kPacketBits = 1200 * 8;
constexpr Duration kMinReduceInterval = std::chrono::milliseconds(10);
constexpr Duration kMaxReduceInterval = std::chrono::milliseconds(200);
}  // namespace

void AimdRateControl::LinkCapacity::on_overuse(double throughput_bps) {
  const double sample_kbps = throughput_bps / 1000.0;
  if (!known()) {
    estimate_kbps = sample_kbps;
  } else {
    estimate_kbps = (1 - kLinkCapacityAlpha) * estimate_kbps + kLinkCapacityAlpha * sample_kbps;
  }
  // The spread, normalised by the estimate so one constant fits every rate.
  const double norm = std::max(estimate_kbps, 1.0);
  const double error = estimate_kbps - sample_kbps;
  deviation = (1 - kLinkCapacityAlpha) * deviation + kLinkCapacityAlpha * error * error / norm;
  deviation = std::clamp(deviation, 0.4, 2.5);
}

double AimdRateControl::LinkCapacity::upper_bps() const {
  return (estimate_kbps + 3 * std::sqrt(deviation * estimate_kbps)) * 1000.0;
}

double AimdRateControl::LinkCapacity::lower_bps() const {
  return std::max(0.0, estimate_kbps - 3 * std::sqrt(deviation * estimate_kbps)) * 1000.0;
}

AimdRateControl::AimdRateControl(uint64_t start_bps, uint64_t min_bps, uint64_t max_bps)
    : min_bps_(min_bps), max_bps_(std::max(min_bps, max_bps)) {
  current_bps_ = clamp(double(start_bps));
}

uint64_t AimdRateControl::clamp(double bps) const {
  if (!(bps >= double(min_bps_))) return min_bps_;  // also catches NaN
  if (bps >= double(max_bps_)) return max_bps_;
  return uint64_t(bps);
}

std::optional<double> AimdRateControl::link_capacity_bps() const {
  if (!link_.known()) return std::nullopt;
  return link_.estimate_kbps * 1000.0;
}

double AimdRateControl::near_max_increase_bps_per_s() const {
  // About one packet per response time: a frame's worth of bits split into
  // whole packets, and the detector needs an RTT plus ~100 ms to react.
  const double frame_bits = double(current_bps_) / kFrameRate;
  const double packets_per_frame = std::max(1.0, std::ceil(frame_bits / kPacketBits));
  const double packet_bits = frame_bits / packets_per_frame;
  const double response_s =
      std::chrono::duration<double>(rtt_ + std::chrono::milliseconds(100)).count();
  return std::max(kMinNearMaxIncreaseBpsPerS, packet_bits / response_s);
}

bool AimdRateControl::time_to_reduce_further(Timestamp now, uint64_t acked_bps,
                                             std::optional<uint64_t> sent_bps) const {
  if (app_limited(sent_bps)) {
    // What was acknowledged is what the source gave: far below the estimate
    // whatever the path does, so it cannot say a cut was not enough.
    return !last_decrease_ || now - *last_decrease_ >= kAppLimitedReduceInterval;
  }
  const Duration interval = std::clamp(rtt_, kMinReduceInterval, kMaxReduceInterval);
  if (!last_change_ || now - *last_change_ >= interval) return true;
  return double(acked_bps) < 0.5 * double(current_bps_);
}

void AimdRateControl::set_estimate(uint64_t bps, Timestamp now) {
  current_bps_ = clamp(double(bps));
  last_change_ = now;
}

uint64_t AimdRateControl::update(BandwidthUsage usage, std::optional<uint64_t> acked_bps,
                                 Timestamp now, std::optional<uint64_t> sent_bps) {
  if (acked_bps) latest_throughput_bps_ = *acked_bps;
  // Until a throughput is measured, the estimate stands in for it.
  const double throughput = double(latest_throughput_bps_.value_or(current_bps_));

  switch (usage) {
    case BandwidthUsage::kNormal:
      if (state_ == State::kHold) {
        last_change_ = now;
        state_ = State::kIncrease;
      }
      break;
    case BandwidthUsage::kOverusing:
      state_ = State::kDecrease;
      break;
    case BandwidthUsage::kUnderusing:
      state_ = State::kHold;  // queues are draining: wait for them
      break;
  }

  double next = double(current_bps_);
  switch (state_) {
    case State::kHold:
      break;
    case State::kIncrease: {
      // Throughput well above where over-use used to happen: that capacity
      // estimate is stale, go back to probing multiplicatively.
      if (link_.known() && throughput > link_.upper_bps()) link_ = {};
      const double limit = 1.5 * throughput + 10'000;
      if (double(current_bps_) < limit) {
        const double dt_s =
            last_change_ ? std::min(std::chrono::duration<double>(now - *last_change_).count(), 1.0)
                         : 1.0;
        double increased;
        if (link_.known()) {
          increased = double(current_bps_) + near_max_increase_bps_per_s() * std::max(dt_s, 0.0);
        } else {
          const double alpha = std::pow(kMultiplicativeRate, std::max(dt_s, 0.0));
          increased = double(current_bps_) +
                      std::max(double(current_bps_) * (alpha - 1.0), kMinIncreaseBps);
        }
        next = std::min(increased, limit);
      }
      last_change_ = now;
      break;
    }
    case State::kDecrease: {
      if (app_limited(sent_bps)) {
        // Half at most, and no capacity sample (see the header).
        next = std::max(kBeta * throughput, kMaxCut * double(current_bps_));
        if (next > double(current_bps_)) next = double(current_bps_);
        state_ = State::kHold;
        last_change_ = last_decrease_ = now;
        break;
      }
      // Just under what actually got through, to drain the queue we built.
      double decreased = kBeta * throughput;
      if (decreased > double(current_bps_) && link_.known()) {
        decreased = kBeta * link_.estimate_kbps * 1000.0;
      }
      // Never more than half at once: the throughput can be far below the
      // path (an app-limited sender's), and half is what TCP gives up.
      decreased = std::max(decreased, kMaxCut * double(current_bps_));
      if (decreased < double(current_bps_)) next = decreased;
      if (link_.known() && throughput < link_.lower_bps()) link_ = {};
      link_.on_overuse(throughput);
      state_ = State::kHold;  // until the queues have drained
      last_change_ = last_decrease_ = now;
      break;
    }
  }
  current_bps_ = clamp(next);
  return current_bps_;
}

}  // namespace lss::cc
