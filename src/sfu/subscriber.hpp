#pragma once
// One viewer of a stream: its peer connection and how the stream's packets
// are mapped onto what it negotiated (payload types, header extension ids,
// RTX). Video starts at a keyframe so the first frame a viewer decodes is
// whole. Repairs are rationed per viewer (RetransmissionLimiter) and its
// keyframe requests throttled, so one viewer on a bad link neither floods
// itself nor costs the others keyframes.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rtp/retransmission_limiter.hpp"
#include "rtp/rtcp_packets.hpp"
#include "rtp/rtt_estimator.hpp"
#include "sdp/negotiation.hpp"
#include "sfu/track.hpp"
#include "webrtc/peer_connection.hpp"

namespace lss::sfu {

class Stream;

// What /api/stats shows of one viewer.
struct ViewerStats {
  std::string stream, session_id;
  bool connected = false;
  std::optional<double> rtt_ms;
  double fraction_lost = 0;  // video, from its latest receiver report (0..1)
  int64_t packets_lost = 0;  // cumulative, as the viewer reports it
  uint64_t remb_bps = 0;     // the viewer's own estimate, when it sends REMB
  uint64_t retransmit_budget_bps = 0;
  uint64_t nacks = 0;           // NACK messages received
  uint64_t nacked_packets = 0;  // sequence numbers asked for
  uint64_t resent = 0;          // repairs sent
  uint64_t resend_holdoff = 0;  // asked again within an RTT: not resent
  uint64_t resend_over_budget = 0;
  uint64_t resend_not_cached = 0;  // older than the cache (or never received)
  uint64_t plis = 0, plis_forwarded = 0;
  uint64_t rtp_out = 0, bytes_out = 0;
  bool rtx = false;
};

class Subscriber : public webrtc::PeerConnection::Observer {
 public:
  struct TrackMapping {
    bool active = false;
    uint8_t payload_type = 0;
    uint8_t rtx_payload_type = 0;  // 0: no RTX negotiated, repairs on the media SSRC
    uint32_t rtx_ssrc = 0;
    bool remap_extensions = false;
    std::array<uint8_t, 256> extension_map{};  // publisher ext id -> viewer ext id (0: drop)
  };

  Subscriber(std::string session_id, Stream& stream, std::vector<TrackMapping> mappings);

  void attach(std::unique_ptr<webrtc::PeerConnection> pc) { pc_ = std::move(pc); }
  webrtc::PeerConnection& peer() { return *pc_; }
  const std::string& session_id() const { return session_id_; }
  bool closed() const { return pc_->state() == webrtc::PeerConnection::State::kClosed; }

  // Hot path: forward one packet of track `index` (already rewritten to the
  // stream's outbound SSRC). `keyframe` marks the first packet of a keyframe.
  void forward(size_t index, const PublishedTrack& track, const uint8_t* data, size_t size,
               bool keyframe);
  // A NACKed packet out of the stream's cache, if this viewer's holdoff and
  // budget allow; on RTX when negotiated.
  void retransmit(size_t index, const uint8_t* data, size_t size, Timestamp now);
  // A NACKed packet the cache no longer (or never) held.
  void count_not_cached() { ++counters_.resend_not_cached; }
  // A rewritten sender report (its NTP time is remembered for RTT).
  void send_sender_report(uint8_t* data, size_t size, size_t capacity, uint64_t ntp, Timestamp now);

  ViewerStats stats() const;

  // PeerConnection::Observer
  void on_connected(webrtc::PeerConnection& pc, Timestamp now) override;
  void on_rtp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override {}
  void on_rtcp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override;
  void on_closed(webrtc::PeerConnection& pc, const std::string& reason) override;

 private:
  bool send_mapped(size_t index, const uint8_t* data, size_t size);
  void on_keyframe_request(Timestamp now);
  void on_report_block(const ReportBlock& block, Timestamp now);
  void update_budget();

  std::string session_id_;
  Stream& stream_;
  std::vector<TrackMapping> mappings_;
  std::unique_ptr<webrtc::PeerConnection> pc_;
  bool waiting_for_keyframe_ = true;
  uint16_t rtx_seq_;
  RetransmissionLimiter limiter_;
  RttEstimator rtt_;
  Timestamp last_pli_forwarded_{};
  uint64_t remb_bps_ = 0;
  uint64_t bytes_out_ = 0;
  struct Counters {
    uint64_t nacks = 0, nacked_packets = 0, resend_not_cached = 0, plis = 0, plis_forwarded = 0;
    uint8_t fraction_lost = 0;
    int32_t packets_lost = 0;
  } counters_;
};

}  // namespace lss::sfu
