#include "sfu/subscriber.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "common/iso8601.hpp"
#include "common/random.hpp"
#include "rtp/header_extension_writer.hpp"
#include "rtp/retransmission_buffer.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtx.hpp"
#include "sfu/stream.hpp"

namespace lss::sfu {

namespace {
// Per-worker scratch buffers: SRTP encrypts in place, so each viewer's copy
// is made here rather than allocated.
constexpr size_t kScratch = 2048;
thread_local uint8_t t_scratch[kScratch];
thread_local uint8_t t_repair[kScratch];
thread_local Bytes t_rtcp;

// One viewer's keyframe requests reach the publisher at most this often: a
// viewer on a lossy link asks again and again, and every keyframe goes to
// every viewer of the layer.
constexpr auto kViewerPliInterval = std::chrono::milliseconds(1000);
// Repairs may take this share of what the viewer says it can carry (REMB);
// without an estimate, a fixed budget.
constexpr double kRepairShare = 0.3;
constexpr uint64_t kMinRepairBps = 150'000;
constexpr uint64_t kDefaultRepairBps = 1'000'000;
// Our estimate is trusted once a probe measured the path, or this long
// after the first feedback; until then the viewer gets the top layer.
constexpr auto kEstimateSettles = std::chrono::milliseconds(1500);
// Probe padding per engine tick at most (a probe is ~30 ms of a few Mbps).
constexpr int kMaxPaddingPerTick = 48;
constexpr size_t kMaxPadding = 255;  // RTP padding length is one byte
constexpr size_t kRoom = kScratch - webrtc::PeerConnection::kSrtpTrailerRoom;
// From this loss on (its receiver reports or transport-cc), repairs go
// twice: doubling 2 % of the traffic is cheap next to a 100 ms stall.
constexpr double kLossyPath = 0.02;
// Pacing (PACING=on): at this multiple of the viewer's estimate, as
// libwebrtc's pacer, and never below this multiple of what the viewer is
// being sent, so a low estimate cannot hold the stream back for good.
constexpr double kPacingFactor = 2.5;
constexpr double kPacingOverSent = 1.5;
// The tag a held packet numbered transport-wide goes out with: the flag,
// and its number in the low 16 bits (on_released).
constexpr uint32_t kTagNumbered = 1u << 16;
}  // namespace

Subscriber::Subscriber(std::string session_id, Stream& stream, std::vector<TrackMapping> mappings)
    : session_id_(std::move(session_id)),
      stream_(stream),
      mappings_(std::move(mappings)),
      rtx_seq_(uint16_t(random_u32())),
      twcc_seq_(uint16_t(random_u32())) {
  since_ = iso8601_utc();
  limiter_.set_budget_bps(kDefaultRepairBps);
  const auto& tracks = stream_.tracks();
  video_.resize(tracks.size());
  bool can_probe = false;
  for (size_t i = 0; i < mappings_.size(); ++i) {
    if (mappings_[i].active && mappings_[i].twcc_ext_id) twcc_ = true;
  }
  for (size_t i = 0; i < tracks.size(); ++i) {
    if (!tracks[i].video) continue;
    video_[i].emplace(tracks[i].out_ssrc, tracks[i].video_codec,
                      tracks[i].negotiated.codec.clock_rate);
    // Before anything is known of its path, a viewer aims at the top layer;
    // the first layer check refines it. Without simulcast: the one layer.
    video_[i]->set_target(int(tracks[i].layers.size()) - 1);
    // Probe padding rides the video's RTX stream, numbered transport-wide.
    if (i < mappings_.size() && mappings_[i].active && mappings_[i].rtx_payload_type &&
        mappings_[i].twcc_ext_id && !can_probe) {
      can_probe = true;
      probe_track_ = i;
    }
  }
  LayerSelector::Config config;
  config.probing = can_probe;
  selectors_.assign(tracks.size(), LayerSelector(config));
}

bool Subscriber::lossy_path() const {
  const double rr = counters_.fraction_lost / 256.0;
  const double twcc = twcc_ ? bwe_.stats().loss_fraction : 0;
  return std::max(rr, twcc) >= kLossyPath;
}

uint64_t Subscriber::estimate_bps() const {
  if (!twcc_) return remb_bps_;
  if (!bwe_ready_) return 0;
  uint64_t estimate = bwe_.target_bps();
  // Loss without queueing is not congestion (a lossy radio link): where the
  // delay shows no over-use, what the viewer's feedback shows it receives
  // is carried, whatever the loss-based limit says, so random loss alone
  // neither pauses video nor takes a layer away.
  const auto st = bwe_.stats();
  if (st.delay_state != cc::BandwidthUsage::kOverusing) estimate = std::max(estimate, st.acked_bps);
  return estimate;
}

void Subscriber::forward(size_t track, size_t layer, const PublishedTrack& t, const uint8_t* data,
                         size_t size, bool keyframe, Timestamp now) {
  if (!pc_->connected() || track >= mappings_.size() || !mappings_[track].active) return;
  if (size + webrtc::PeerConnection::kSrtpTrailerRoom > sizeof t_scratch) return;
  // Built and encrypted in the worker's next send slot where it has one
  // (the datagram then leaves without another copy), else in scratch.
  uint8_t* buf = pc_->send_buffer(kScratch);
  if (!buf) buf = t_scratch;
  std::memcpy(buf, data, size);
  if (t.video) {
    RtpPacket pkt;
    if (!RtpPacket::parse(buf, size, pkt)) return;
    if (!video_[track]->rewrite(int(layer), pkt, keyframe, now)) return;
  }
  // Only video is paced, as libwebrtc's pacer sends audio and repairs
  // ahead of queued video: audio is too little to make a burst, and
  // delayed behind a keyframe it would stretch the viewer's jitter buffer;
  // a repair is late already, and the repair budget bounds it.
  send(track, buf, size, now, t.video ? Pace::kPaced : Pace::kNow);
}

void Subscriber::map_payload(size_t track, RtpPacket& pkt) const {
  const TrackMapping& m = mappings_[track];
  pkt.set_payload_type(m.payload_type);
  if (m.remap_extensions) pkt.remap_extension_ids(m.extension_map);
}

bool Subscriber::transmit(size_t track, uint8_t* packet, size_t size, Timestamp now, Pace pace) {
  const TrackMapping& m = mappings_[track];
  bool numbered = false;
  if (m.twcc_ext_id) {
    uint8_t seq[2];
    store_be16(seq, twcc_seq_);
    if (const size_t n =
            set_header_extension(packet, size, kRoom, m.twcc_ext_id, ByteSpan(seq, 2))) {
      size = n;
      numbered = true;
    }
  }
  // Paced: it leaves at its pacer's time, which is also its send time for
  // the estimator (feedback compares it with the arrival) until the worker
  // says when it really went (on_released).
  Timestamp sent_at = now;
  if (pace_bps_ && pace == Pace::kPaced) sent_at = pacer_.release(size, now, pace_bps_);
  if (pace_bps_ && pace == Pace::kAfterHeld) sent_at = pacer_.after_held(now);
  const bool held = sent_at > now;
  uint32_t tag = 0;
  if (numbered) {
    // Recorded before the send: a worker whose pool is full sends at once
    // and says so (on_released) before send_rtp returns.
    // Video the pacer holds leaves at the pacing rate, not the probe's:
    // counted in the probe, it would stretch the probe's spread at the
    // receiver and make the path look slower than it is. Padding held
    // behind it is the probe itself.
    const bool in_probe = probe_ && (!held || pace == Pace::kAfterHeld);
    bwe_.on_packet_sent(twcc_seq_, size, sent_at,
                        in_probe ? probe_->cluster.id : cc::SendSideBwe::kNoProbe);
    if (in_probe) {
      probe_->bytes += size;
      ++probe_->packets;
    }
    if (held) tag = kTagNumbered | twcc_seq_;
    ++twcc_seq_;
  }
  if (!pc_->send_rtp(packet, size, kScratch, held ? sent_at : Timestamp{}, tag))
    return false;  // both scratch buffers are kScratch
  bytes_out_ += size;
  rate_out_.add(size, now);
  return true;
}

bool Subscriber::send(size_t track, uint8_t* packet, size_t size, Timestamp now, Pace pace) {
  RtpPacket pkt;
  if (!RtpPacket::parse(packet, size, pkt)) return false;
  map_payload(track, pkt);
  return transmit(track, packet, size, now, pace);
}

bool Subscriber::send_padding(size_t bytes, Timestamp now) {
  // A padding-only packet on the RTX stream (RFC 4588 allows it): the
  // viewer drops it, the path's capacity shows in the feedback for it.
  const TrackMapping& m = mappings_[probe_track_];
  const size_t pad = std::clamp<size_t>(bytes, 1, kMaxPadding);
  uint8_t* p = t_scratch;
  p[0] = 0xa0;  // V=2, P=1
  p[1] = m.rtx_payload_type;
  store_be16(p + 2, rtx_seq_++);
  store_be32(p + 4, video_[probe_track_] ? video_[probe_track_]->last_timestamp() : 0);
  store_be32(p + 8, m.rtx_ssrc);
  std::memset(p + 12, 0, pad);
  p[12 + pad - 1] = uint8_t(pad);
  // Probes keep their own rate (the cluster's), which is what they measure,
  // behind any video the pacer holds.
  return transmit(probe_track_, p, 12 + pad, now, Pace::kAfterHeld);
}

void Subscriber::on_released(webrtc::PeerConnection&, uint32_t tag, Timestamp at) {
  // The worker may send a held packet late (busy with other viewers, or its
  // 1 ms wheel): the estimator compares arrivals with the real send time,
  // or it would take our own lateness for a queue on the path.
  if (tag & kTagNumbered) bwe_.on_packet_released(uint16_t(tag), at);
}

void Subscriber::tick(Timestamp now) {
  if (pacing_) {
    // Until the estimate is trusted, a transport-cc viewer is paced at what
    // the estimator has so far (its start rate, raised by its first probes):
    // the keyframe it joins on is the burst most likely to overflow a
    // shallow queue, and loss then would pull its estimate down. A viewer
    // with neither transport-cc nor REMB has no estimate and is not paced.
    uint64_t estimate = estimate_bps();
    if (!estimate && twcc_) estimate = bwe_.target_bps();
    pace_bps_ = estimate ? std::max(uint64_t(kPacingFactor * double(estimate)),
                                    uint64_t(kPacingOverSent * double(rate_out_.bps(now))))
                         : 0;
  }
  if (!twcc_ || !pc_->connected() || !selectors_[probe_track_].probing()) return;
  if (!probe_) {
    auto cluster = bwe_.probe_to_send(now);
    if (!cluster) return;
    probe_ = Probe{*cluster, now};
  }
  Probe& pr = *probe_;
  // Paced at the cluster's rate, a tick ahead; media sent meanwhile counts.
  const double elapsed = std::chrono::duration<double>(now - pr.started).count() + 0.02;
  const auto due = size_t(double(pr.cluster.bps) / 8 * elapsed);
  for (int i = 0; i < kMaxPaddingPerTick && pr.bytes < due &&
                  (pr.bytes < pr.cluster.min_bytes || pr.packets < pr.cluster.min_packets);
       ++i) {
    const size_t before = pr.bytes;
    if (!send_padding(due - pr.bytes, now)) break;
    probe_bytes_ += pr.bytes - before;
  }
  if ((pr.bytes >= pr.cluster.min_bytes && pr.packets >= pr.cluster.min_packets) ||
      now - pr.started > pr.cluster.duration * 4) {
    probe_.reset();
  }
}

void Subscriber::retransmit(size_t track, uint16_t out_seq, Timestamp now) {
  auto& rewriter = video_[track];
  auto origin = rewriter->origin_of(out_seq);
  auto cached =
      origin ? stream_.cached(track, origin->layer, origin->source_seq, now) : std::nullopt;
  if (!cached) {
    ++counters_.resend_not_cached;
    return;
  }
  if (limiter_.allow(out_seq, cached->size(), now) != RetransmissionLimiter::Verdict::kSend) return;
  // The cached original, rewritten exactly as this viewer first got it.
  uint8_t* copy = t_repair;
  size_t size = cached->size();
  if (size + 2 + webrtc::PeerConnection::kSrtpTrailerRoom > sizeof t_repair) return;
  std::memcpy(copy, cached->data(), size);
  RtpPacket original;
  if (!RtpPacket::parse(copy, size, original) || !rewriter->rewrite_repair(out_seq, original))
    return;
  const TrackMapping& m = mappings_[track];
  if (!m.rtx_payload_type) {
    send(track, copy, size, now);
    return;
  }
  // RFC 4588: the repair rides its own SSRC and sequence space, so the
  // viewer's loss counters of the media SSRC stay true. On a lossy path the
  // repair goes twice: a lost repair costs a second NACK round, which a
  // receive-only browser times with its default RTT (100 ms) - a freeze.
  const int copies = lossy_path() && limiter_.charge(cached->size(), now) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    const size_t rtx_size =
        build_rtx(original, m.rtx_payload_type, m.rtx_ssrc, rtx_seq_, t_scratch, kRoom);
    if (!rtx_size) return;
    ++rtx_seq_;
    RtpPacket pkt;
    if (!RtpPacket::parse(t_scratch, rtx_size, pkt)) return;
    if (m.remap_extensions) pkt.remap_extension_ids(m.extension_map);
    transmit(track, t_scratch, rtx_size, now);
  }
  if (copies == 2) ++redundant_repairs_;
}

void Subscriber::on_sender_report(size_t track, size_t layer, const SenderReport& sr,
                                  Timestamp now) {
  if (!pc_->connected() || track >= mappings_.size() || !mappings_[track].active) return;
  SenderReport out;
  out.ssrc = stream_.tracks()[track].out_ssrc;
  out.ntp = sr.ntp;
  out.rtp_timestamp = sr.rtp_timestamp;
  out.packet_count = sr.packet_count;
  out.octet_count = sr.octet_count;
  if (auto& rewriter = video_[track]) {
    if (rewriter->current() != int(layer)) return;  // not the layer this viewer sees
    out.rtp_timestamp += rewriter->timestamp_offset();
  }
  t_rtcp.clear();
  build_sender_report(out, t_rtcp);
  const size_t len = t_rtcp.size();
  t_rtcp.resize(len + webrtc::PeerConnection::kSrtpTrailerRoom);
  // SRTCP protects in place: the buffer is this call's alone.
  if (pc_->send_rtcp(t_rtcp.data(), len, t_rtcp.size())) rtt_.on_sender_report_sent(sr.ntp, now);
}

void Subscriber::select_layers(Timestamp now) {
  if (!pc_->connected()) return;
  for (size_t i = 0; i < video_.size(); ++i) {
    auto& rewriter = video_[i];
    if (!rewriter || !mappings_[i].active) continue;
    auto points = stream_.operating_points(i, now);
    if (max_layer_ >= 0) {
      // Only the spatial layers up to the viewer's ceiling, by rank.
      const auto spatial = stream_.active_layers(i, now);
      const size_t allowed = std::min(spatial.size(), size_t(max_layer_) + 1);
      std::erase_if(points, [&](const LayerRate& p) {
        for (size_t k = 0; k < allowed; ++k)
          if (spatial[k].layer == spatial_of(p.layer)) return false;
        return true;
      });
    }
    if (points.empty()) continue;  // nothing arriving: keep what it waits for
    const int point = selectors_[i].select(points, estimate_bps(), now);
    const int spatial = spatial_of(point), temporal = temporal_of(point);
    if (spatial != rewriter->target() || temporal != rewriter->requested_temporal_layer()) {
      const auto st = bwe_.stats();
      spdlog::debug(
          "stream '{}': viewer {} video layer {}/{} -> {}/{} (estimate {} bps: delay-based {}, "
          "loss-based {}, acked {}, delay {}, loss {:.3f})",
          stream_.name(), session_id_, rewriter->target(), rewriter->requested_temporal_layer(),
          spatial, temporal, estimate_bps(), st.delay_based_bps, st.loss_based_bps, st.acked_bps,
          st.delay_state == cc::BandwidthUsage::kOverusing    ? "over-using"
          : st.delay_state == cc::BandwidthUsage::kUnderusing ? "under-using"
                                                              : "normal",
          st.loss_fraction);
      rewriter->set_target(spatial);
      // Down at once; up at the next frame the decoder can follow.
      rewriter->set_max_temporal_layer(temporal);
    }
    if (rewriter->waiting_for_keyframe()) stream_.request_keyframe(i, rewriter->target());
    if (const uint64_t probe = selectors_[i].take_probe_request()) {
      spdlog::debug("stream '{}': viewer {} probes at {} bps", stream_.name(), session_id_, probe);
      bwe_.request_probe(probe, now);
    }
  }
}

void Subscriber::on_connected(webrtc::PeerConnection&, Timestamp now) {
  spdlog::info("stream '{}': viewer {} connected", stream_.name(), session_id_);
  // A new viewer needs a keyframe to start; ask now rather than wait for the
  // publisher's next periodic one. Its own first PLI still goes through: if
  // the keyframe's first packet is lost on its way, the viewer cannot NACK a
  // packet before the first one it got, and only a new keyframe helps.
  for (size_t i = 0; i < video_.size(); ++i) {
    if (video_[i]) stream_.request_keyframe(i, video_[i]->target());
  }
}

void Subscriber::on_keyframe_request(uint32_t media_ssrc, Timestamp now) {
  ++counters_.plis;
  if (now - last_pli_forwarded_ < kViewerPliInterval) return;
  for (size_t i = 0; i < video_.size(); ++i) {
    if (!video_[i] || stream_.tracks()[i].out_ssrc != media_ssrc) continue;
    const int layer = video_[i]->current() >= 0 ? video_[i]->current() : video_[i]->target();
    if (layer < 0) return;  // paused: nothing to repair
    last_pli_forwarded_ = now;
    ++counters_.plis_forwarded;
    stream_.request_keyframe(i, layer);
  }
}

void Subscriber::on_nack(const Nack& nack, Timestamp now) {
  ++counters_.nacks;
  counters_.nacked_packets += nack.lost.size();
  for (size_t i = 0; i < video_.size(); ++i) {
    if (!video_[i] || stream_.tracks()[i].out_ssrc != nack.media_ssrc) continue;
    // What the cache lacks is not asked of the publisher: a packet older
    // than the cache is too old to help, and one the publisher's path lost
    // is already being NACKed by the stream itself.
    for (uint16_t seq : nack.lost) retransmit(i, seq, now);
  }
}

void Subscriber::update_budget() {
  const uint64_t estimate = estimate_bps();
  if (!estimate) return;
  limiter_.set_budget_bps(std::max(kMinRepairBps, uint64_t(double(estimate) * kRepairShare)));
}

void Subscriber::on_rtcp(webrtc::PeerConnection&, uint8_t* data, size_t size, Timestamp now) {
  for_each_rtcp(ByteSpan(data, size), [&](const RtcpPacket& p) {
    if (const auto* nack = std::get_if<Nack>(&p)) {
      on_nack(*nack, now);
    } else if (const auto* pli = std::get_if<Pli>(&p)) {
      on_keyframe_request(pli->media_ssrc, now);
    } else if (const auto* fir = std::get_if<Fir>(&p)) {
      for (const auto& e : fir->entries) on_keyframe_request(e.ssrc, now);
    } else if (const auto* remb = std::get_if<Remb>(&p)) {
      remb_bps_ = remb->bitrate_bps;
      bwe_.on_remb(remb_bps_, now);
      update_budget();
    } else if (const auto* fb = std::get_if<TransportCcFeedback>(&p)) {
      if (!twcc_) return;
      bwe_.on_transport_feedback(*fb, now);
      if (first_feedback_ == Timestamp{}) first_feedback_ = now;
      if (!bwe_ready_ &&
          (bwe_.stats().last_probe_bps > 0 || now - first_feedback_ >= kEstimateSettles)) {
        bwe_ready_ = true;
      }
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
    if (rtt_.on_report_block(block.lsr, block.dlsr, now)) {
      limiter_.set_rtt(*rtt_.rtt());
      bwe_.on_rtt(*rtt_.rtt(), now);
    }
    if (tracks[i].video) {
      bwe_.on_loss_report(block.fraction_lost, now);
      counters_.fraction_lost = block.fraction_lost;
      counters_.packets_lost = block.cumulative_lost;
    }
  }
}

SessionSummary Subscriber::summary(Timestamp now) const {
  SessionSummary s;
  s.stream = stream_.name();
  s.stream_id = stream_.session_id();
  s.session_id = session_id_;
  s.connected = pc_ && pc_->connected();
  s.remote = http_remote_;
  if (pc_) {
    if (auto a = pc_->remote_address()) set_media_address(s, *a);
  }
  const auto& tracks = stream_.tracks();
  for (size_t i = 0; i < tracks.size() && i < mappings_.size(); ++i) {
    if (mappings_[i].active)
      (tracks[i].video ? s.video_codec : s.audio_codec) = tracks[i].negotiated.codec.name;
  }
  s.bitrate_bps = rate_out_.bps(now);
  s.loss = counters_.fraction_lost / 256.0;
  if (auto rtt = rtt_.rtt()) s.rtt_ms = std::chrono::duration<double, std::milli>(*rtt).count();
  s.since = since_;
  return s;
}

ViewerStats Subscriber::stats() const {
  ViewerStats s;
  s.stream = stream_.name();
  s.session_id = session_id_;
  s.connected = pc_ && pc_->connected();
  if (pc_) {
    s.ice_restarts = pc_->stats().ice_restarts;
    s.address_changes = pc_->stats().address_changes;
  }
  if (auto rtt = rtt_.rtt()) s.rtt_ms = std::chrono::duration<double, std::milli>(*rtt).count();
  s.fraction_lost = counters_.fraction_lost / 256.0;
  s.packets_lost = counters_.packets_lost;
  s.estimate_bps = estimate_bps();
  s.remb_bps = remb_bps_;
  s.transport_cc = twcc_;
  const auto bwe = bwe_.stats();
  s.acked_bps = bwe.acked_bps;
  s.delay_based_bps = bwe.delay_based_bps;
  s.loss_based_bps = bwe.loss_based_bps;
  s.delay_state = cc::to_string(bwe.delay_state);
  s.loss_fraction_twcc = bwe.loss_fraction;
  s.probes = bwe.probes_sent;
  s.last_probe_bps = bwe.last_probe_bps;
  s.probe_bytes = probe_bytes_;
  s.redundant_repairs = redundant_repairs_;
  s.retransmit_budget_bps = limiter_.budget_bps();
  for (size_t i = 0; i < video_.size(); ++i) {
    if (!video_[i]) continue;
    s.layer = video_[i]->current();
    s.target_layer = video_[i]->target();
    s.layers = int(stream_.tracks()[i].layers.size());
    s.layer_switches = video_[i]->counters().switches;
    s.temporal_layer = video_[i]->max_temporal_layer();
    s.dropped_temporal = video_[i]->counters().dropped_temporal;
  }
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
