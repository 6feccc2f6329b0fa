#pragma once
// One viewer of a stream: its peer connection and how the stream's packets
// are mapped onto what it negotiated (payload types, header extension ids,
// RTX). Each video track goes through the viewer's own VideoRewriter, which
// follows the layer a LayerSelector picks from the viewer's estimate, and
// starts and switches at keyframes so every frame it decodes is whole.
// Repairs are rationed per viewer (RetransmissionLimiter) and its keyframe
// requests throttled, so one viewer on a bad link neither floods itself nor
// costs the others keyframes.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cc/send_side_bwe.hpp"
#include "rtp/rate_meter.hpp"
#include "rtp/retransmission_limiter.hpp"
#include "rtp/rtcp_packets.hpp"
#include "rtp/rtt_estimator.hpp"
#include "sdp/negotiation.hpp"
#include "sfu/burst_pacer.hpp"
#include "sfu/layer_selector.hpp"
#include "sfu/session_summary.hpp"
#include "sfu/track.hpp"
#include "sfu/video_rewriter.hpp"
#include "webrtc/peer_connection.hpp"

namespace lss::sfu {

class Stream;

// What /api/stats shows of one viewer.
struct ViewerStats {
  std::string stream, session_id;
  bool connected = false;
  std::optional<double> rtt_ms;
  double fraction_lost = 0;   // video, from its latest receiver report (0..1)
  int64_t packets_lost = 0;   // cumulative, as the viewer reports it
  uint64_t estimate_bps = 0;  // what the server thinks the viewer's path carries
  uint64_t remb_bps = 0;      // the viewer's own estimate, when it sends REMB
  bool transport_cc = false;  // the estimate is ours (transport-cc), not its REMB
  uint64_t acked_bps = 0;     // throughput its feedback confirms
  uint64_t delay_based_bps = 0, loss_based_bps = 0;  // the two halves of the estimate
  const char* delay_state = "normal";
  double loss_fraction_twcc = 0;  // from transport-cc feedback
  uint64_t probes = 0, last_probe_bps = 0, probe_bytes = 0;
  uint64_t redundant_repairs = 0;  // repairs sent twice (a lossy path)
  uint64_t retransmit_budget_bps = 0;
  int layer = -1, target_layer = -1;  // video layer followed / asked for (-1: paused)
  int layers = 0;                     // simulcast layers of the stream (1 without)
  uint64_t layer_switches = 0;
  int temporal_layer = 3;         // highest VP8 temporal layer passed on (3: all)
  uint64_t dropped_temporal = 0;  // packets of upper temporal layers left out
  uint64_t nacks = 0;             // NACK messages received
  uint64_t nacked_packets = 0;    // sequence numbers asked for
  uint64_t resent = 0;            // repairs sent
  uint64_t resend_holdoff = 0;    // asked again within an RTT: not resent
  uint64_t resend_over_budget = 0;
  uint64_t resend_not_cached = 0;  // older than the cache (or never received)
  uint64_t plis = 0, plis_forwarded = 0;
  uint64_t rtp_out = 0, bytes_out = 0;
  bool rtx = false;
  uint64_t ice_restarts = 0;     // completed ICE restarts (WHEP PATCH)
  uint64_t address_changes = 0;  // media address moves after the first (NAT rebinding, new path)
};

class Subscriber : public webrtc::PeerConnection::Observer {
 public:
  struct TrackMapping {
    bool active = false;
    uint8_t payload_type = 0;
    uint8_t rtx_payload_type = 0;  // 0: no RTX negotiated, repairs on the media SSRC
    uint32_t rtx_ssrc = 0;
    uint8_t twcc_ext_id = 0;  // the viewer's transport-wide sequence number id (0: none)
    bool remap_extensions = false;
    std::array<uint8_t, 256> extension_map{};  // publisher ext id -> viewer ext id (0: drop)
  };

  Subscriber(std::string session_id, Stream& stream, std::vector<TrackMapping> mappings);

  void attach(std::unique_ptr<webrtc::PeerConnection> pc) { pc_ = std::move(pc); }
  webrtc::PeerConnection& peer() { return *pc_; }
  const std::string& session_id() const { return session_id_; }
  bool closed() const { return pc_->state() == webrtc::PeerConnection::State::kClosed; }

  // Hot path: one packet of source (track, layer). Audio is already on the
  // stream's SSRC; video is rewritten here. `keyframe` marks the first
  // packet of a keyframe.
  void forward(size_t track, size_t layer, const PublishedTrack& t, const uint8_t* data,
               size_t size, bool keyframe, Timestamp now);
  // A sender report of source (track, layer), passed on for the layer this
  // viewer follows (its timestamp shifted like the packets).
  void on_sender_report(size_t track, size_t layer, const SenderReport& sr, Timestamp now);
  // Picks each video track's layer from this viewer's estimate (the stream's tick).
  void select_layers(Timestamp now);
  // Sends probe padding when the estimator asks for it (every engine tick).
  void tick(Timestamp now);

  ViewerStats stats() const;
  // For the admin API; `http_remote` is the address the session was asked
  // for from, shown until the media path has one.
  SessionSummary summary(Timestamp now) const;
  void set_http_remote(std::string remote) { http_remote_ = std::move(remote); }
  // The viewer's ceiling (WHEP ?maxLayer=): the rank among the stream's
  // active spatial layers, slowest first, of the fastest it gets; -1: none.
  void set_max_layer(int rank) { max_layer_ = rank; }
  // PACING=on: this viewer's packets are spread at a multiple of its
  // estimate (burst_pacer.hpp) once it has one.
  void set_pacing(bool on) { pacing_ = on; }

  // PeerConnection::Observer
  void on_connected(webrtc::PeerConnection& pc, Timestamp now) override;
  void on_rtp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override {}
  void on_rtcp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override;
  void on_closed(webrtc::PeerConnection& pc, const std::string& reason) override;
  void on_released(webrtc::PeerConnection& pc, uint32_t tag, Timestamp at) override;

 private:
  // How a packet goes with PACING (burst_pacer.hpp): at once (audio,
  // repairs), through the viewer's pacer (video), or right after what the
  // pacer holds, at its own rate (probe padding).
  enum class Pace : uint8_t { kNow, kPaced, kAfterHeld };
  // Maps, numbers (transport-wide) and sends one RTP packet of `track` in a
  // kScratch-sized buffer.
  bool send(size_t track, uint8_t* packet, size_t size, Timestamp now, Pace pace = Pace::kNow);
  void map_payload(size_t track, RtpPacket& pkt) const;
  // Numbers (transport-wide) and sends a packet already mapped.
  bool transmit(size_t track, uint8_t* packet, size_t size, Timestamp now, Pace pace = Pace::kNow);
  bool send_padding(size_t bytes, Timestamp now);
  void on_nack(const Nack& nack, Timestamp now);
  // Resends `out_seq` of video track `track` from the stream's cache.
  void retransmit(size_t track, uint16_t out_seq, Timestamp now);
  void on_keyframe_request(uint32_t media_ssrc, Timestamp now);
  void on_report_block(const ReportBlock& block, Timestamp now);
  void update_budget();
  // What this viewer's path carries: our transport-cc estimate once it has
  // measured something, else its REMB; 0 while unknown.
  uint64_t estimate_bps() const;
  bool lossy_path() const;

  std::string session_id_;
  Stream& stream_;
  std::vector<TrackMapping> mappings_;
  std::vector<std::optional<VideoRewriter>> video_;  // per track, video ones
  std::vector<LayerSelector> selectors_;             // per track
  std::unique_ptr<webrtc::PeerConnection> pc_;
  uint16_t rtx_seq_;
  RetransmissionLimiter limiter_;
  RttEstimator rtt_;
  Timestamp last_pli_forwarded_{};
  uint64_t remb_bps_ = 0;
  uint64_t bytes_out_ = 0;
  mutable RateMeter rate_out_;  // mutable: reading it ages its buckets
  std::string since_;           // ISO 8601 UTC of the session's creation
  std::string http_remote_;
  int max_layer_ = -1;
  // Transport-wide congestion control toward this viewer.
  bool twcc_ = false;
  uint16_t twcc_seq_ = 0;
  cc::SendSideBwe bwe_;
  Timestamp first_feedback_{};
  bool bwe_ready_ = false;
  struct Probe {
    cc::ProbeCluster cluster;
    Timestamp started{};
    size_t bytes = 0;
    int packets = 0;
  };
  std::optional<Probe> probe_;
  bool pacing_ = false;
  BurstPacer pacer_;
  uint64_t pace_bps_ = 0;   // 0: unpaced (no estimate yet); set every tick
  size_t probe_track_ = 0;  // the video track whose RTX carries padding
  uint64_t probe_bytes_ = 0;
  uint64_t redundant_repairs_ = 0;
  struct Counters {
    uint64_t nacks = 0, nacked_packets = 0, resend_not_cached = 0, plis = 0, plis_forwarded = 0;
    uint8_t fraction_lost = 0;
    int32_t packets_lost = 0;
  } counters_;
};

}  // namespace lss::sfu
