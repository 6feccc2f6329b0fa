#include "sfu/subscriber.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

#include "rtp/rtcp_packets.hpp"
#include "rtp/rtp_packet.hpp"
#include "sfu/stream.hpp"

namespace lss::sfu {

namespace {
// Per-worker scratch buffer: SRTP encrypts in place, so each viewer's copy is
// made here rather than allocated.
thread_local uint8_t t_scratch[2048];
}  // namespace

Subscriber::Subscriber(std::string session_id, Stream& stream, std::vector<TrackMapping> mappings)
    : session_id_(std::move(session_id)), stream_(stream), mappings_(std::move(mappings)) {}

void Subscriber::forward(size_t index, const PublishedTrack& track, const uint8_t* data,
                         size_t size, bool keyframe) {
  if (!pc_->connected() || index >= mappings_.size() || !mappings_[index].active) return;
  if (track.video && waiting_for_keyframe_) {
    if (!keyframe) return;
    waiting_for_keyframe_ = false;
  }
  send_mapped(index, data, size);
}

void Subscriber::retransmit(size_t index, const uint8_t* data, size_t size) {
  if (!pc_->connected() || index >= mappings_.size() || !mappings_[index].active) return;
  send_mapped(index, data, size);
}

bool Subscriber::send_mapped(size_t index, const uint8_t* data, size_t size) {
  if (size + webrtc::PeerConnection::kSrtpTrailerRoom > sizeof t_scratch) return false;
  std::memcpy(t_scratch, data, size);
  RtpPacket pkt;
  if (!RtpPacket::parse(t_scratch, size, pkt)) return false;
  const TrackMapping& m = mappings_[index];
  pkt.set_payload_type(m.payload_type);
  if (m.remap_extensions) pkt.remap_extension_ids(m.extension_map);
  return pc_->send_rtp(t_scratch, size, sizeof t_scratch);
}

void Subscriber::on_connected(webrtc::PeerConnection&, Timestamp) {
  spdlog::info("stream '{}': viewer {} connected", stream_.name(), session_id_);
  // A new viewer needs a keyframe to start; ask now rather than wait for the
  // publisher's next periodic one.
  stream_.request_keyframe();
}

void Subscriber::on_rtcp(webrtc::PeerConnection&, uint8_t* data, size_t size, Timestamp) {
  for_each_rtcp(ByteSpan(data, size), [&](const RtcpPacket& p) {
    if (const auto* nack = std::get_if<Nack>(&p)) {
      stream_.handle_nack(*this, nack->media_ssrc, nack->lost);
    } else if (std::holds_alternative<Pli>(p) || std::holds_alternative<Fir>(p)) {
      stream_.request_keyframe();
    }
  });
}

void Subscriber::on_closed(webrtc::PeerConnection&, const std::string& reason) {
  spdlog::info("stream '{}': viewer {} closed: {}", stream_.name(), session_id_, reason);
}

}  // namespace lss::sfu
