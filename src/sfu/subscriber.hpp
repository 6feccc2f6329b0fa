#pragma once
// One viewer of a stream: its peer connection and how the stream's packets
// are mapped onto what it negotiated (payload types, header extension ids).
// Video starts at a keyframe so the first frame a viewer decodes is whole.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "sdp/negotiation.hpp"
#include "sfu/track.hpp"
#include "webrtc/peer_connection.hpp"

namespace lss::sfu {

class Stream;

class Subscriber : public webrtc::PeerConnection::Observer {
 public:
  struct TrackMapping {
    bool active = false;
    uint8_t payload_type = 0;
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
  // A retransmission out of the stream's cache (no keyframe gating).
  void retransmit(size_t index, const uint8_t* data, size_t size);
  void send_rtcp(uint8_t* data, size_t size, size_t capacity) {
    pc_->send_rtcp(data, size, capacity);
  }

  // PeerConnection::Observer
  void on_connected(webrtc::PeerConnection& pc, Timestamp now) override;
  void on_rtp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override {}
  void on_rtcp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override;
  void on_closed(webrtc::PeerConnection& pc, const std::string& reason) override;

 private:
  bool send_mapped(size_t index, const uint8_t* data, size_t size);

  std::string session_id_;
  Stream& stream_;
  std::vector<TrackMapping> mappings_;
  std::unique_ptr<webrtc::PeerConnection> pc_;
  bool waiting_for_keyframe_ = true;
};

}  // namespace lss::sfu
