#include "sfu/subscriber.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "common/random.hpp"
#include "rtp/retransmission_buffer.hpp"
#include "rtp/rtcp_packets.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtx.hpp"
#include "sfu/stream.hpp"

namespace lss::sfu {

namespace {
// Per-worker scratch buffer: SRTP encrypts in place, so each viewer's copy is
// made here rather than allocated.
thread_local uint8_t t_scratch[2048];

// One viewer's keyframe requests reach the publisher at most this often: a
// viewer on a lossy link asks again and again, and every keyframe goes to
// every viewer of the stream.
constexpr auto kViewerPliInterval = std::chrono::milliseconds(1000);
// Repairs may take this share of what the viewer says it can carry (REMB);
// without an estimate, a fixed budget.
constexpr double kRepairShare = 0.3;
constexpr uint64_t kMinRepairBps = 150'000;
constexpr uint64_t kDefaultRepairBps = 1'000'000;
}  // namespace

Subscriber::Subscriber(std::string session_id, Stream& stream, std::vector<TrackMapping> mappings)
    : session_id_(std::move(session_id)),
      stream_(stream),
      mappings_(std::move(mappings)),
      rtx_seq_(uint16_t(random_u32())) {
  limiter_.set_budget_bps(kDefaultRepairBps);
}

void Subscriber::forward(size_t index, const PublishedTrack& track, const uint8_t* data,
                         size_t size, bool keyframe) {
  if (!pc_->connected() || index >= mappings_.size() || !mappings_[index].active) return;
  if (track.video && waiting_for_keyframe_) {
    if (!keyframe) return;
    waiting_for_keyframe_ = false;
  }
  send_mapped(index, data, size);
}

void Subscriber::retransmit(size_t index, const uint8_t* data, size_t size, Timestamp now) {
  if (!pc_->connected() || index >= mappings_.size() || !mappings_[index].active || size < 12)
    return;
  if (limiter_.allow(load_be16(data + 2), size, now) != RetransmissionLimiter::Verdict::kSend)
    return;
  const TrackMapping& m = mappings_[index];
  if (!m.rtx_payload_type) {
    send_mapped(index, data, size);
    return;
  }
  // RFC 4588: the repair rides its own SSRC and sequence space, so the
  // viewer's loss counters of the media SSRC stay true.
  RtpPacket original;
  uint8_t copy[RetransmissionBuffer::kSlotSize];
  if (size > sizeof copy) return;
  std::memcpy(copy, data, size);
  if (!RtpPacket::parse(copy, size, original)) return;
  const size_t rtx_size = build_rtx(original, m.rtx_payload_type, m.rtx_ssrc, rtx_seq_, t_scratch,
                                    sizeof t_scratch - webrtc::PeerConnection::kSrtpTrailerRoom);
  if (!rtx_size) return;
  ++rtx_seq_;
  RtpPacket pkt;
  if (!RtpPacket::parse(t_scratch, rtx_size, pkt)) return;
  if (m.remap_extensions) pkt.remap_extension_ids(m.extension_map);
  if (pc_->send_rtp(t_scratch, rtx_size, sizeof t_scratch)) bytes_out_ += rtx_size;
}

bool Subscriber::send_mapped(size_t index, const uint8_t* data, size_t size) {
  if (size + webrtc::PeerConnection::kSrtpTrailerRoom > sizeof t_scratch) return false;
  std::memcpy(t_scratch, data, size);
  RtpPacket pkt;
  if (!RtpPacket::parse(t_scratch, size, pkt)) return false;
  const TrackMapping& m = mappings_[index];
  pkt.set_payload_type(m.payload_type);
  if (m.remap_extensions) pkt.remap_extension_ids(m.extension_map);
  if (!pc_->send_rtp(t_scratch, size, sizeof t_scratch)) return false;
  bytes_out_ += size;
  return true;
}

void Subscriber::send_sender_report(uint8_t* data, size_t size, size_t capacity, uint64_t ntp,
                                    Timestamp now) {
  if (pc_->send_rtcp(data, size, capacity)) rtt_.on_sender_report_sent(ntp, now);
}

void Subscriber::on_connected(webrtc::PeerConnection&, Timestamp now) {
  spdlog::info("stream '{}': viewer {} connected", stream_.name(), session_id_);
  // A new viewer needs a keyframe to start; ask now rather than wait for the
  // publisher's next periodic one.
  last_pli_forwarded_ = now;
  stream_.request_keyframe();
}

void Subscriber::on_keyframe_request(Timestamp now) {
  ++counters_.plis;
  if (now - last_pli_forwarded_ < kViewerPliInterval) return;
  last_pli_forwarded_ = now;
  ++counters_.plis_forwarded;
  stream_.request_keyframe();
}

void Subscriber::update_budget() {
  if (!remb_bps_) return;
  limiter_.set_budget_bps(std::max(kMinRepairBps, uint64_t(double(remb_bps_) * kRepairShare)));
}

void Subscriber::on_rtcp(webrtc::PeerConnection&, uint8_t* data, size_t size, Timestamp now) {
  for_each_rtcp(ByteSpan(data, size), [&](const RtcpPacket& p) {
    if (const auto* nack = std::get_if<Nack>(&p)) {
      ++counters_.nacks;
      counters_.nacked_packets += nack->lost.size();
      stream_.handle_nack(*this, nack->media_ssrc, nack->lost, now);
    } else if (std::holds_alternative<Pli>(p) || std::holds_alternative<Fir>(p)) {
      on_keyframe_request(now);
    } else if (const auto* remb = std::get_if<Remb>(&p)) {
      remb_bps_ = remb->bitrate_bps;
      update_budget();
    } else if (const auto* rr = std::get_if<ReceiverReport>(&p)) {
      for (const auto& block : rr->report_blocks) on_report_block(block, now);
    } else if (const auto* sr = std::get_if<SenderReport>(&p)) {
      for (const auto& block : sr->report_blocks) on_report_block(block, now);
    }
  });
}

void Subscriber::on_report_block(const ReportBlock& block, Timestamp now) {
  const auto& tracks = stream_.tracks();
  for (size_t i = 0; i < tracks.size() && i < mappings_.size(); ++i) {
    if (!mappings_[i].active || tracks[i].out_ssrc != block.ssrc) continue;
    if (rtt_.on_report_block(block.lsr, block.dlsr, now)) limiter_.set_rtt(*rtt_.rtt());
    if (tracks[i].video) {
      counters_.fraction_lost = block.fraction_lost;
      counters_.packets_lost = block.cumulative_lost;
    }
  }
}

ViewerStats Subscriber::stats() const {
  ViewerStats s;
  s.stream = stream_.name();
  s.session_id = session_id_;
  s.connected = pc_ && pc_->connected();
  if (auto rtt = rtt_.rtt()) s.rtt_ms = std::chrono::duration<double, std::milli>(*rtt).count();
  s.fraction_lost = counters_.fraction_lost / 256.0;
  s.packets_lost = counters_.packets_lost;
  s.remb_bps = remb_bps_;
  s.retransmit_budget_bps = limiter_.budget_bps();
  s.nacks = counters_.nacks;
  s.nacked_packets = counters_.nacked_packets;
  s.resent = limiter_.counters().sent;
  s.resend_holdoff = limiter_.counters().holdoff;
  s.resend_over_budget = limiter_.counters().over_budget;
  s.resend_not_cached = counters_.resend_not_cached;
  s.plis = counters_.plis;
  s.plis_forwarded = counters_.plis_forwarded;
  if (pc_) s.rtp_out = pc_->stats().rtp_out;
  s.bytes_out = bytes_out_;
  s.rtx = std::any_of(mappings_.begin(), mappings_.end(),
                      [](const TrackMapping& m) { return m.rtx_payload_type != 0; });
  return s;
}

void Subscriber::on_closed(webrtc::PeerConnection&, const std::string& reason) {
  spdlog::info("stream '{}': viewer {} closed: {}", stream_.name(), session_id_, reason);
}

}  // namespace lss::sfu
