#pragma once
// Send-side bandwidth estimation for one viewer, after Google Congestion
// Control (draft-ietf-rmcat-gcc-02 and libwebrtc's goog_cc): what this viewer
// can carry now, so sfu/ can pick its simulcast/temporal layer.
//
// clang-format off
//   transport-cc feedback
//     ├─ InterArrival → TrendlineEstimator → OveruseDetector ─┐
//     ├─ AckedBitrateEstimator (throughput) ──────────────────┴→ AimdRateControl ─┐
//     ├─ ProbeBitrateEstimator (probe results: raise the estimate at once) ───────┤
//     └─ lost / expected per ~1 s window ─┐                                       ├→ min → target
//   RR fraction lost (no transport-cc) ───┴→ LossBasedControl ────────────────────┤
//   REMB (the viewer's own estimate) ─────────────────────────────────────────────┘
// clang-format on
//
// Sans-I/O: the caller passes every sent packet, every feedback and the time;
// nothing here reads a clock, locks or does I/O. One instance per viewer,
// used from that viewer's media worker only.
//
// Cost: on_packet_sent() is a store into a fixed ring (SentPacketHistory,
// 8 KiB allocated once in the constructor) — no allocation, no locks, O(1).
// on_transport_feedback() does not allocate either: O(packets in it).
//
// Simpler than libwebrtc's goog_cc, on purpose:
// - one delay estimator for all packets (no separate audio one), fed in
//   feedback order rather than sorted by arrival time;
// - the AIMD estimate is trusted from start_bps (no 5 s "initialisation" on
//   measured throughput) and, before any throughput is known, over-use
//   backs off to 85 % of the estimate instead of halving every 200 ms;
// - app-limited periods are told from the rate actually sent (SentRate),
//   only to soften over-use cuts (aimd_rate_control.hpp); no ALR probing,
//   congestion window, pacer pushback or feedback timeout: when feedback
//   stops the estimate stays where it is;
// - probing only at start (3x and 6x start_bps) and on request from sfu/,
//   which knows when a higher layer is wanted; no periodic ALR probes;
// - loss is counted over ~1 s windows (like an RR), and the loss-based
//   controller limits a delay-based or REMB estimate only after loss above
//   10 %, so 2-10 % of random loss does not freeze the rate (see
//   loss_based_control.hpp); no loss-based v2.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "cc/acked_bitrate_estimator.hpp"
#include "cc/aimd_rate_control.hpp"
#include "cc/bwe_types.hpp"
#include "cc/inter_arrival.hpp"
#include "cc/loss_based_control.hpp"
#include "cc/overuse_detector.hpp"
#include "cc/probe_bitrate_estimator.hpp"
#include "cc/probe_controller.hpp"
#include "cc/sent_packet_history.hpp"
#include "cc/sent_rate.hpp"
#include "cc/trendline_estimator.hpp"
#include "common/time.hpp"
#include "rtp/rtcp_packets.hpp"

namespace lss::cc {

struct BweConfig {
  uint64_t start_bps = 1'000'000, min_bps = 30'000, max_bps = 20'000'000;
  // Probe at 3x and 6x start_bps first thing (as libwebrtc does), so a viewer
  // with a good path reaches its layer in a second instead of half a minute.
  bool initial_probing = true;
};

class SendSideBwe {
 public:
  static constexpr int kNoProbe = -1;

  explicit SendSideBwe(BweConfig config = {});

  // Every packet sent to this viewer that carries a transport-wide sequence
  // number (media, RTX, padding), with its size on the wire. Packets sent
  // for a probe cluster pass its id. Hot path: no allocation, no locks.
  void on_packet_sent(uint16_t transport_seq, size_t bytes, Timestamp at,
                      int probe_cluster = kNoProbe);
  // A packet recorded by on_packet_sent() with the time a pacer planned for
  // it actually left at `at`: feedback compares arrivals with this.
  void on_packet_released(uint16_t transport_seq, Timestamp at) {
    history_.set_send_time(transport_seq, at);
  }
  // A transport-cc feedback from this viewer. Entries for sequence numbers
  // never sent, too old, or already reported are ignored.
  void on_transport_feedback(const TransportCcFeedback& fb, Timestamp now);
  // The round-trip time, measured elsewhere (RR LSR/DLSR or XR).
  void on_rtt(Duration rtt, Timestamp now);
  // The RR "fraction lost" (0-255). Used only while no transport-cc feedback
  // arrives, which measures loss itself.
  void on_loss_report(uint8_t fraction_lost, Timestamp now);
  // The viewer's REMB: its own estimate, a cap on ours; for a viewer that
  // sends only REMB, the estimate follows it.
  void on_remb(uint64_t bps, Timestamp now);

  // What this viewer can carry now, within [min_bps, max_bps].
  uint64_t target_bps() const { return target_bps_; }
  // Measured throughput from transport-cc feedback (0 until known).
  uint64_t acked_bps() const { return acked_.bps().value_or(0); }

  // Probing: before switching a viewer up to a layer that needs `bps`, ask
  // for a probe at it; probe_to_send() then hands out the cluster to send.
  // Ignored when `bps` is not above the current target, and for a viewer
  // that sends no transport-cc (nothing could measure it).
  void request_probe(uint64_t bps, Timestamp now);
  // The next probe cluster to send, or nothing. Send at cluster.bps in total
  // (media plus padding/RTX) until cluster.min_bytes in cluster.min_packets
  // have gone out, passing cluster.id to on_packet_sent() for each of them.
  // Feedback for them raises the estimate at once when the path carries it.
  std::optional<ProbeCluster> probe_to_send(Timestamp now);

  struct Stats {
    uint64_t target_bps = 0;
    uint64_t delay_based_bps = 0;  // AIMD estimate; 0 before transport-cc feedback
    uint64_t loss_based_bps = 0;
    uint64_t remb_bps = 0;  // last REMB; 0 if none
    uint64_t acked_bps = 0;
    BandwidthUsage delay_state = BandwidthUsage::kNormal;
    double delay_trend = 0;      // the detector's scaled trend...
    double delay_threshold = 0;  // ...and the adaptive threshold it is compared with
    double loss_fraction = 0;    // last loss measurement, 0..1
    Duration rtt{};
    uint64_t last_probe_bps = 0;  // last probe result; 0 if none
    uint64_t probes_sent = 0;
    uint64_t feedbacks = 0;
    uint64_t ignored_feedback_entries = 0;  // unknown or too old sequence numbers
  };
  Stats stats() const;

 private:
  bool twcc_active(Timestamp now) const;
  bool remb_only() const { return remb_bps_ > 0 && !last_twcc_; }
  void update_target();

  BweConfig config_;
  SentPacketHistory history_;
  SentRate sent_rate_;
  InterArrival inter_arrival_;
  TrendlineEstimator trendline_;
  OveruseDetector detector_;
  AckedBitrateEstimator acked_;
  AimdRateControl aimd_;
  LossBasedControl loss_;
  ProbeController probes_;
  ProbeBitrateEstimator probe_results_;

  // The feedback's 24-bit reference time (64 ms units), unwrapped.
  bool have_reference_ = false;
  uint32_t last_reference_raw_ = 0;
  int64_t reference_ = 0;
  // Loss counted from feedback, reported to LossBasedControl once a window.
  uint32_t lost_ = 0, expected_ = 0;
  std::optional<Timestamp> loss_window_start_;

  std::optional<Timestamp> last_twcc_, last_rr_rtt_;
  // The arrival rate while the current over-use lasts (0: none measured).
  uint64_t overuse_arrival_bps_ = 0;
  std::optional<Timestamp> last_overuse_;          // the delay detector's, for telling loss apart
  Duration rtt_ = std::chrono::milliseconds(200);  // until measured
  bool have_rtt_ = false;
  uint64_t remb_bps_ = 0;
  uint64_t target_bps_ = 0;
  uint64_t last_probe_bps_ = 0;
  uint64_t probes_sent_ = 0, feedbacks_ = 0, ignored_entries_ = 0;
};

}  // namespace lss::cc
