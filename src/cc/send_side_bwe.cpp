#include "cc/send_side_bwe.hpp"

#include <algorithm>
#include <limits>

namespace lss::cc {

namespace {
constexpr uint32_t kMinLossPackets = 20;
constexpr Duration kLossWindow = std::chrono::seconds(1);
constexpr Duration kTwccTimeout = std::chrono::seconds(2);
// Loss within this long of the delay detector's last overuse is taken for
// congestion: a drop-tail queue shows delay first, then overflows.
constexpr Duration kOveruseMemory = std::chrono::seconds(5);
constexpr Duration kRrRttValid = std::chrono::seconds(5);
constexpr Duration kMaxRtt = std::chrono::seconds(10);
constexpr double kRttSmoothing = 0.2;
constexpr int64_t kMaxReference = int64_t(1) << 36;
// A feedback's arrivals make a rate from this many packets over this long.
constexpr uint32_t kMinRatePackets = 5;
constexpr int64_t kMinRateSpanUs = 20'000;
constexpr int64_t kAppLimitedLookbackUs = 1'000'000;
}  // namespace

SendSideBwe::SendSideBwe(BweConfig config)
    : config_(config),
      aimd_(config.start_bps, config.min_bps, config.max_bps),
      loss_(config.start_bps, config.min_bps, config.max_bps) {
  config_.max_bps = std::max(config_.max_bps, config_.min_bps);
  if (config_.initial_probing) {
    const uint64_t start = std::clamp(config_.start_bps, config_.min_bps, config_.max_bps);
    if (start < config_.max_bps) {
      probes_.request(std::min(3 * start, config_.max_bps));
      if (6 * start <= config_.max_bps) probes_.request(6 * start);
    }
  }
  update_target();
}

void SendSideBwe::on_packet_sent(uint16_t transport_seq, size_t bytes, Timestamp at,
                                 int probe_cluster) {
  history_.on_sent(transport_seq, at, bytes, probe_cluster);
  sent_rate_.on_sent(to_us(at), bytes);
}

bool SendSideBwe::twcc_active(Timestamp now) const {
  return last_twcc_ && now - *last_twcc_ < kTwccTimeout;
}

void SendSideBwe::on_transport_feedback(const TransportCcFeedback& fb, Timestamp now) {
  ++feedbacks_;
  if (fb.packets.empty()) return;
  const int64_t now_us = to_us(now);

  // Arrival times are on the receiver's clock: the reference time (24 bits
  // of 64 ms) unwrapped across feedbacks, plus the running deltas.
  const uint32_t raw = uint32_t(fb.reference_time) & 0xFFFFFF;
  if (!have_reference_) {
    reference_ = raw;
    have_reference_ = true;
  } else {
    const int32_t step = int32_t(((raw - last_reference_raw_) & 0xFFFFFF) << 8) >> 8;
    reference_ += step;
    // Years of 64 ms ticks: only a lying receiver gets here. Start over
    // rather than let the arithmetic below overflow.
    if (reference_ > kMaxReference || reference_ < -kMaxReference) reference_ = raw;
  }
  last_reference_raw_ = raw;
  int64_t arrival_us = reference_ * 64'000;

  bool any_acked = false;
  int64_t min_rtt_us = std::numeric_limits<int64_t>::max();
  // The arrivals this feedback reports, for their rate (see below).
  int64_t first_arrival_us = -1, last_arrival_us = -1;
  uint64_t bytes_after_first = 0;
  uint32_t arrivals = 0;
  std::optional<uint64_t> probe_bps;
  for (const TransportCcFeedback::Packet& p : fb.packets) {
    if (p.received) arrival_us += int64_t(p.delta_250us) * 250;
    SentPacket s = history_.find(p.seq);
    if (!s) {
      ++ignored_entries_;
      continue;
    }
    if (!p.received) {
      if (!s.acked() && !s.reported_lost()) {
        s.set_reported_lost(true);
        ++lost_;
        ++expected_;
      }
      continue;
    }
    if (s.acked()) continue;  // a repeated report
    if (s.reported_lost()) {
      // Reported lost before, arrived after all (reordering): not a loss.
      s.set_reported_lost(false);
      if (lost_ > 0) --lost_;
    } else {
      ++expected_;
    }
    s.set_acked();
    any_acked = true;
    min_rtt_us = std::min(min_rtt_us, now_us - s.send_us());

    acked_.on_packet(arrival_us, s.size());
    if (arrivals++ == 0) {
      first_arrival_us = arrival_us;
    } else {
      bytes_after_first += s.size();
    }
    last_arrival_us = std::max(last_arrival_us, arrival_us);
    if (auto d = inter_arrival_.on_packet(s.send_us(), arrival_us, now_us)) {
      const double send_ms = double(d->send_us) / 1000.0;
      trendline_.update(send_ms, double(d->arrival_us) / 1000.0, arrival_us);
      detector_.detect(trendline_.trend(), send_ms, trendline_.num_deltas(), arrival_us);
    }
    if (s.probe_cluster() >= 0) {
      if (auto r = probe_results_.on_packet(s.probe_cluster(), s.send_us(), arrival_us, s.size())) {
        probe_bps = r;
      }
    }
  }

  if (any_acked) {
    last_twcc_ = now;
    // Without a recent RTT from RTCP, the feedback's own (an overestimate by
    // the receiver's feedback interval at most) is good enough for pacing
    // the AIMD steps.
    if ((!last_rr_rtt_ || now - *last_rr_rtt_ > kRrRttValid) && min_rtt_us >= 0 &&
        min_rtt_us < to_us(kMaxRtt)) {
      const Duration sample = std::chrono::microseconds(min_rtt_us);
      rtt_ = have_rtt_ ? std::chrono::duration_cast<Duration>(rtt_ * (1 - kRttSmoothing) +
                                                              sample * kRttSmoothing)
                       : sample;
      have_rtt_ = true;
      aimd_.set_rtt(rtt_);
    }

    if (probe_bps) last_probe_bps_ = *probe_bps;
    std::optional<uint64_t> acked = acked_.bps();
    // Whether the sender was app-limited: what it sent at its lowest over
    // the last second, not now, when it may be sending the very keyframe
    // burst that made the queue.
    const std::optional<uint64_t> sent = sent_rate_.min_bps(now_us, kAppLimitedLookbackUs);
    const BandwidthUsage usage = detector_.state();
    if (usage != BandwidthUsage::kOverusing) overuse_arrival_bps_ = 0;  // that over-use ended
    if (usage == BandwidthUsage::kOverusing) {
      // A queue is building: the bottleneck is busy, so the packets it let
      // through since the last feedback came at the rate it carries. The
      // filtered rate lags far behind a sender that sent little until a
      // moment ago (a keyframe after a still scene), and cutting to it
      // would go far below the path (AnAppLimitedSenderKeepsItsEstimate).
      // Over enough packets and time that a receiver's bunched timestamps
      // do not make a rate out of nothing.
      // The highest such rate of this over-use holds until it ends: the
      // detector goes on reporting over-use for a while after a burst's
      // queue has drained, when the arrivals are the still scene's again.
      const int64_t span_us = last_arrival_us - first_arrival_us;
      if (arrivals >= kMinRatePackets && span_us >= kMinRateSpanUs) {
        const uint64_t arriving = uint64_t(double(bytes_after_first) * 8e6 / double(span_us));
        overuse_arrival_bps_ = std::max(overuse_arrival_bps_, arriving);
      }
      if (acked) acked = std::max(*acked, overuse_arrival_bps_);
      last_overuse_ = now;
      // Cut once, then again only after the last cut had time to show.
      if (aimd_.time_to_reduce_further(now, acked.value_or(aimd_.estimate()), sent)) {
        aimd_.update(usage, acked, now, sent);
      }
    } else if (probe_bps && *probe_bps > aimd_.estimate()) {
      // The path carried more than the estimate: jump there.
      aimd_.set_estimate(*probe_bps, now);
      loss_.raise_to(*probe_bps);
    } else {
      aimd_.update(usage, acked, now);
    }
  }

  // Loss over windows like an RR's (at least 1 s and 20 packets): over
  // fewer packets, random loss of a few percent often looks like 10 %.
  if (!loss_window_start_) loss_window_start_ = now;
  if (expected_ >= kMinLossPackets && now - *loss_window_start_ >= kLossWindow) {
    const bool delay_clear = !last_overuse_ || now - *last_overuse_ >= kOveruseMemory;
    loss_.on_loss(double(lost_) / double(expected_), now, rtt_, target_bps_, delay_clear);
    lost_ = expected_ = 0;
    loss_window_start_ = now;
  }
  update_target();
}

void SendSideBwe::on_rtt(Duration rtt, Timestamp now) {
  if (rtt <= Duration::zero() || rtt > kMaxRtt) return;
  rtt_ = rtt;
  have_rtt_ = true;
  last_rr_rtt_ = now;
  aimd_.set_rtt(rtt);
}

void SendSideBwe::on_loss_report(uint8_t fraction_lost, Timestamp now) {
  if (twcc_active(now)) return;  // feedback counts loss per packet, better than RR's
  loss_.on_loss(double(fraction_lost) / 256.0, now, rtt_, target_bps_);
  update_target();
}

void SendSideBwe::on_remb(uint64_t bps, Timestamp now) {
  remb_bps_ = std::max<uint64_t>(bps, 1);
  // The viewer ran its own estimator: follow it up unless we see loss.
  loss_.raise_to(remb_bps_);
  if (remb_only()) probes_.clear();
  update_target();
}

void SendSideBwe::update_target() {
  // The delay-based estimate and the viewer's REMB, when there are any;
  // without either, the loss-based estimate alone.
  uint64_t reference = config_.max_bps;
  if (last_twcc_) reference = std::min(reference, aimd_.estimate());
  if (remb_bps_ > 0) reference = std::min(reference, remb_bps_);
  if (last_twcc_ || remb_bps_ > 0) loss_.follow(reference);
  target_bps_ = std::clamp(std::min(reference, loss_.estimate()), config_.min_bps, config_.max_bps);
}

void SendSideBwe::request_probe(uint64_t bps, Timestamp now) {
  if (remb_only()) return;
  bps = std::min(bps, config_.max_bps);
  if (bps <= target_bps_) return;
  probes_.request(bps);
}

std::optional<ProbeCluster> SendSideBwe::probe_to_send(Timestamp now) {
  if (remb_only()) return std::nullopt;
  std::optional<ProbeCluster> c = probes_.next(now);
  if (c) {
    probe_results_.add_cluster(c->id, c->min_packets, c->min_bytes, to_us(now));
    ++probes_sent_;
  }
  return c;
}

SendSideBwe::Stats SendSideBwe::stats() const {
  Stats s;
  s.target_bps = target_bps_;
  s.delay_based_bps = last_twcc_ ? aimd_.estimate() : 0;
  s.loss_based_bps = loss_.estimate();
  s.remb_bps = remb_bps_;
  s.acked_bps = acked_bps();
  s.delay_state = detector_.state();
  s.delay_trend = detector_.modified_trend();
  s.delay_threshold = detector_.threshold();
  s.loss_fraction = loss_.last_loss();
  s.rtt = rtt_;
  s.last_probe_bps = last_probe_bps_;
  s.probes_sent = probes_sent_;
  s.feedbacks = feedbacks_;
  s.ignored_feedback_entries = ignored_entries_;
  return s;
}

}  // namespace lss::cc
