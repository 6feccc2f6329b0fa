#include "sfu/stream.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>

#include "common/iso8601.hpp"
#include "common/random.hpp"
#include "rtp/rtcp_packets.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtx.hpp"

namespace lss::sfu {

namespace {
constexpr size_t kVideoCacheSlots = 1024;  // ~4 s of 2.5 Mbps video
// A relay's cache answers only its own viewers' NACKs, which come within a
// round trip or two: 2 s of 2.5 Mbps video (the cache's age limit), 0.75 MB.
constexpr size_t kRelayVideoCacheSlots = 512;
constexpr auto kRrInterval = std::chrono::milliseconds(1000);
constexpr auto kTwccInterval = std::chrono::milliseconds(50);
constexpr auto kRembInterval = std::chrono::milliseconds(1000);
constexpr uint64_t kRembBitrate = 5'000'000;  // ceiling; the encoder's own BWE still limits

}  // namespace

Stream::Stream(std::string name, std::string session_id, std::vector<PublishedTrack> tracks,
               std::shared_ptr<RelayLink> upstream)
    : name_(std::move(name)),
      session_id_(std::move(session_id)),
      started_at_(iso8601_utc()),
      tracks_(std::move(tracks)),
      upstream_(std::move(upstream)),
      video_cache_(upstream_ ? kRelayVideoCacheSlots : kVideoCacheSlots),
      feedback_ssrc_(random_u32() | 1) {
  for (const auto& t : tracks_) {
    receive_stats_.emplace_back(t.negotiated.codec.clock_rate);
    nack_.emplace_back();
    seen_.emplace_back();
    if (t.twcc_ext_id) use_twcc_ = true;
  }
  continuity_.resize(tracks_.size());
}

Result<std::vector<PublishedTrack>> Stream::line_up(
    const std::vector<PublishedTrack>& tracks) const {
  std::vector<PublishedTrack> lined(tracks_.size());
  for (size_t i = 0; i < tracks_.size(); ++i) {
    for (const auto& t : tracks) {
      if (t.video != tracks_[i].video) continue;
      if (t.negotiated.codec.name != tracks_[i].negotiated.codec.name) {
        return make_error("the new source sends " + t.negotiated.codec.name + ", the stream " +
                          tracks_[i].negotiated.codec.name);
      }
      lined[i] = t;
      lined[i].out_ssrc = tracks_[i].out_ssrc;
      lined[i].out_rtx_ssrc = tracks_[i].out_rtx_ssrc;
    }
  }
  return lined;
}

void Stream::begin_switch(std::unique_ptr<webrtc::PeerConnection> pc,
                          std::vector<PublishedTrack> lined) {
  if (next_publisher_) {
    next_publisher_->close("superseded by another source switch");
    retired_.push_back(std::move(next_publisher_));
  }
  next_publisher_ = std::move(pc);
  next_tracks_ = std::move(lined);
  spdlog::info("stream '{}': switching to a new source at its first keyframe", name_);
}

void Stream::sweep_publishers(const std::function<void(webrtc::PeerConnection&)>& on_removed) {
  if (next_publisher_ && next_publisher_->state() == webrtc::PeerConnection::State::kClosed) {
    retired_.push_back(std::move(next_publisher_));
    next_tracks_.clear();
  }
  for (auto it = retired_.begin(); it != retired_.end();) {
    if ((*it)->state() == webrtc::PeerConnection::State::kClosed) {
      on_removed(**it);
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
}

void Stream::cut_over(Timestamp now) {
  auto old = std::move(publisher_);
  publisher_ = std::move(next_publisher_);
  for (size_t i = 0; i < tracks_.size(); ++i) {
    const PublishedTrack& n = next_tracks_[i];
    if (n.negotiated.mid.empty()) {
      tracks_[i].ssrc = tracks_[i].rtx_ssrc = 0;  // the new source lacks it: it pauses
    } else {
      const uint32_t out = tracks_[i].out_ssrc, out_rtx = tracks_[i].out_rtx_ssrc;
      tracks_[i] = n;
      tracks_[i].out_ssrc = out;
      tracks_[i].out_rtx_ssrc = out_rtx;
    }
    continuity_[i].rebase = true;
    receive_stats_[i] = RtpReceiveStats(tracks_[i].negotiated.codec.clock_rate);
    nack_[i] = NackGenerator();
    seen_[i] = DuplicateFilter();
  }
  next_tracks_.clear();
  twcc_ = TwccRecorder();
  use_twcc_ = std::any_of(tracks_.begin(), tracks_.end(),
                          [](const PublishedTrack& t) { return t.twcc_ext_id != 0; });
  spdlog::info("stream '{}': source switched; viewers and recording continue", name_);
  if (old) {
    // After the swap, so its on_closed does not end the stream.
    old->close("replaced by a new source");
    retired_.push_back(std::move(old));
  }
}

Stream::~Stream() = default;

Subscriber& Stream::add_subscriber(std::unique_ptr<Subscriber> sub) {
  subscribers_.push_back(std::move(sub));
  // A relay asks for packets as soon as it has a viewer, so a keyframe is on
  // its way by the time the viewer's DTLS handshake is done.
  if (upstream_) upstream_->viewers.store(int(subscribers_.size()), std::memory_order_relaxed);
  peak_viewers_ = std::max(peak_viewers_, viewer_count());
  return *subscribers_.back();
}

int Stream::viewer_count() const {
  int n = 0;
  for (const auto& s : subscribers_) n += !s->closed();
  for (const auto& r : relays_) n += r->viewers.load(std::memory_order_relaxed);
  return n;
}

void Stream::sweep_subscribers(const std::function<void(Subscriber&)>& on_removed) {
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    if ((*it)->closed()) {
      on_removed(**it);
      it = subscribers_.erase(it);
    } else {
      ++it;
    }
  }
}

void Stream::end(const std::string& reason) {
  if (ended_) return;
  ended_ = true;
  spdlog::info("stream '{}' ending: {}", name_, reason);
  if (recording_) recording_->closed.store(true, std::memory_order_release);
  for (auto& r : relays_) {
    r->origin_ended.store(true, std::memory_order_release);
    r->wake();
  }
  if (upstream_) {
    upstream_->viewers.store(0, std::memory_order_relaxed);
    upstream_->relay_gone.store(true, std::memory_order_release);
  }
  for (auto& sub : subscribers_) sub->peer().close("stream ended");
  if (publisher_) publisher_->close(reason);
  if (next_publisher_) next_publisher_->close(reason);
  for (auto& r : retired_) r->close(reason);
}

StreamInfo Stream::info() const {
  StreamInfo i;
  i.name = name_;
  i.session_id = session_id_;
  i.started_at = started_at_;
  i.viewers = size_t(viewer_count());
  for (const auto& t : tracks_) {
    (t.video ? i.video_codec : i.audio_codec) = t.negotiated.codec.name;
  }
  return i;
}

int Stream::track_index_for(std::vector<PublishedTrack>& tracks, uint32_t ssrc, uint8_t pt,
                            bool& is_rtx) {
  is_rtx = false;
  for (size_t i = 0; i < tracks.size(); ++i) {
    auto& t = tracks[i];
    if (t.negotiated.mid.empty()) continue;  // a switch's source that lacks this track
    if (t.ssrc == ssrc) return int(i);
    if (t.rtx_ssrc && t.rtx_ssrc == ssrc) return is_rtx = true, int(i);
  }
  // No a=ssrc lines: learn the SSRCs from the payload types, which are
  // unique per track because each section negotiated exactly one codec.
  for (size_t i = 0; i < tracks.size(); ++i) {
    auto& t = tracks[i];
    if (t.negotiated.mid.empty()) continue;
    if (t.ssrc == 0 && pt == t.negotiated.codec.payload_type) {
      t.ssrc = ssrc;
      return int(i);
    }
    if (t.rtx_ssrc == 0 && t.negotiated.codec.rtx_payload_type &&
        pt == *t.negotiated.codec.rtx_payload_type) {
      t.rtx_ssrc = ssrc;
      return is_rtx = true, int(i);
    }
  }
  return -1;
}

void Stream::on_connected(webrtc::PeerConnection& pc, Timestamp now) {
  if (&pc == next_publisher_.get()) {
    spdlog::info("stream '{}': new source connected", name_);
    last_switch_pli_ = Timestamp{};  // ask for its keyframe at the next tick
    return;
  }
  spdlog::info("stream '{}': publisher connected", name_);
  keyframes_.request();
}

void Stream::on_rtp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) {
  RtpPacket pkt;
  if (!RtpPacket::parse(data, size, pkt)) return;
  bool is_rtx = false;
  if (&pc != publisher_.get()) {
    if (&pc != next_publisher_.get()) return;  // a retiring source
    // The new source takes over at the start of a keyframe, so viewers and
    // the recording cut cleanly; until then the current source goes on.
    const int next = track_index_for(next_tracks_, pkt.ssrc(), pkt.payload_type(), is_rtx);
    if (next < 0 || is_rtx) return;
    const PublishedTrack& t = next_tracks_[size_t(next)];
    const bool has_video =
        std::any_of(next_tracks_.begin(), next_tracks_.end(),
                    [](const PublishedTrack& n) { return n.video && !n.negotiated.mid.empty(); });
    if (has_video && !(t.video && codec::is_keyframe_start(t.video_codec, pkt.payload()))) return;
    cut_over(now);
  }
  const int index = track_index_for(tracks_, pkt.ssrc(), pkt.payload_type(), is_rtx);
  if (index < 0) return;
  PublishedTrack& track = tracks_[size_t(index)];

  if (track.twcc_ext_id) {
    ByteSpan ext = pkt.find_extension(track.twcc_ext_id);
    if (ext.size() >= 2) twcc_.record(load_be16(ext.data()), now);
  }
  if (is_rtx && !unwrap_rtx(data, size, pkt, track.negotiated.codec.payload_type, track.ssrc))
    return;
  if (!seen_[size_t(index)].first_time(pkt.sequence_number())) {
    ++duplicates_;
    return;
  }
  receive_stats_[size_t(index)].update(pkt.sequence_number(), pkt.timestamp(), now);
  if (track.video) nack_[size_t(index)].on_packet(pkt.sequence_number(), now);

  // Sequence numbers and timestamps continue across source switches (the
  // offsets are zero until the first switch).
  Continuity& c = continuity_[size_t(index)];
  if (c.rebase) {
    c.rebase = false;
    if (c.sent) {
      const double elapsed = std::chrono::duration<double>(now - c.last_time).count();
      const auto step = uint32_t(std::max(1.0, elapsed * track.negotiated.codec.clock_rate));
      c.seq_offset = uint16_t(c.last_seq + 1 - pkt.sequence_number());
      c.ts_offset = c.last_ts + step - pkt.timestamp();
    }
  }
  pkt.set_sequence_number(uint16_t(pkt.sequence_number() + c.seq_offset));
  pkt.set_timestamp(pkt.timestamp() + c.ts_offset);
  if (!c.sent || int16_t(pkt.sequence_number() - c.last_seq) > 0) {
    c.sent = true;
    c.last_seq = pkt.sequence_number();
    c.last_ts = pkt.timestamp();
    c.last_time = now;
  }

  if (recording_) recording_->ring.push(uint8_t(index), data, size, now);
  const bool keyframe = track.video && codec::is_keyframe_start(track.video_codec, pkt.payload());
  if (keyframe) keyframes_.keyframe_received();
  pkt.set_ssrc(track.out_ssrc);
  if (track.video) video_cache_.store(ByteSpan(data, size), pkt.sequence_number(), now);
  // Relays first: their workers fan out in parallel with ours below.
  if (!relays_.empty()) {
    push_to_relays(uint8_t(index) | (keyframe ? RelayLink::kKeyframeFlag : 0), data, size, now);
  }
  for (auto& sub : subscribers_) sub->forward(size_t(index), track, data, size, keyframe);
}

void Stream::push_to_relays(uint8_t flags, const uint8_t* data, size_t size, Timestamp now) {
  for (auto& r : relays_) {
    if (r->viewers.load(std::memory_order_relaxed) <= 0) continue;
    r->ring.push(flags, data, size, now);  // a full ring drops: the relay lags a second behind
    // At once rather than after our batch: the relay's worker forwards while
    // we do. Waking an already woken worker costs an atomic exchange.
    r->wake();
  }
}

void Stream::drain_upstream(Timestamp now, Timestamp& arrival) {
  if (!upstream_ || ended_) return;
  upstream_->ring.drain([&](record::PacketRing::Slot& slot) {
    arrival = slot.arrival;
    if (slot.track & RelayLink::kSenderReportFlag) {
      return fan_out_sender_report(slot.data, slot.size, now);
    }
    const size_t index = slot.track & RelayLink::kTrackMask;
    if (index >= tracks_.size() || slot.size < 12) return;
    const PublishedTrack& track = tracks_[index];
    // The relay keeps its own retransmission cache: its viewers' NACKs are
    // answered here, without a trip to the origin's worker.
    if (track.video)
      video_cache_.store(ByteSpan(slot.data, slot.size), load_be16(slot.data + 2), now);
    const bool keyframe = slot.track & RelayLink::kKeyframeFlag;
    for (auto& sub : subscribers_) sub->forward(index, track, slot.data, slot.size, keyframe);
  });
  if (upstream_->origin_ended.load(std::memory_order_acquire)) end("the stream ended");
}

void Stream::fan_out_sender_report(const uint8_t* data, size_t size, Timestamp now) {
  // SRTCP protects in place: each viewer encrypts its own stack copy.
  uint8_t copy[512];
  if (size < 16 || size + webrtc::PeerConnection::kSrtpTrailerRoom > sizeof copy) return;
  const uint64_t ntp = load_be64(data + 8);  // viewers echo it in their reports (RTT)
  for (auto& sub : subscribers_) {
    std::memcpy(copy, data, size);
    sub->send_sender_report(copy, size, sizeof copy, ntp, now);
  }
}

void Stream::on_rtcp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) {
  if (&pc != publisher_.get()) return;
  // Sender reports keep viewers' audio and video in sync: forward each one
  // rewritten to the stream's outbound SSRC.
  for_each_rtcp(ByteSpan(data, size), [&](const RtcpPacket& p) {
    if (const auto* sr = std::get_if<SenderReport>(&p)) {
      for (size_t i = 0; i < tracks_.size(); ++i) {
        if (tracks_[i].ssrc != sr->ssrc) continue;
        receive_stats_[i].on_sender_report(sr->ntp, now);
        if (continuity_[i].rebase) continue;  // offsets not known yet after a switch
        const uint32_t rtp_ts = sr->rtp_timestamp + continuity_[i].ts_offset;
        if (recording_) {
          uint8_t rep[12];
          store_be64(rep, sr->ntp);
          store_be32(rep + 8, rtp_ts);
          recording_->ring.push(uint8_t(i) | record::PacketRing::kSenderReportFlag, rep, sizeof rep,
                                now);
        }
        SenderReport out = *sr;
        out.ssrc = tracks_[i].out_ssrc;
        out.rtp_timestamp = rtp_ts;
        out.report_blocks.clear();
        Bytes buf;
        build_sender_report(out, buf);
        if (!relays_.empty())
          push_to_relays(RelayLink::kSenderReportFlag, buf.data(), buf.size(), now);
        fan_out_sender_report(buf.data(), buf.size(), now);
      }
    }
  });
}

void Stream::on_closed(webrtc::PeerConnection& pc, const std::string& reason) {
  if (&pc != publisher_.get()) {
    if (&pc == next_publisher_.get()) {
      spdlog::warn("stream '{}': the new source closed before taking over: {}", name_, reason);
    }
    return;  // swept from retired_/next_publisher_ by the engine's tick
  }
  if (next_publisher_ || switch_expected_) {
    // The clip dance closed the old source before the new one took over:
    // keep viewers and the recording, and wait for the new source.
    spdlog::info("stream '{}': publisher left ({}); waiting for the new source", name_, reason);
    retired_.push_back(std::move(publisher_));
    return;
  }
  spdlog::info("stream '{}': publisher closed: {}", name_, reason);
  end(reason);
}

void Stream::handle_nack(Subscriber& from, uint32_t media_ssrc, const std::vector<uint16_t>& seqs,
                         Timestamp now) {
  int index = -1;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (tracks_[i].out_ssrc == media_ssrc) index = int(i);
  }
  if (index < 0 || !tracks_[size_t(index)].video) return;
  // What the cache lacks is not asked of the publisher: a packet older than
  // the cache is too old to help this viewer, and one the publisher's path
  // lost is already being NACKed by this stream's own NackGenerator.
  for (uint16_t seq : seqs) {
    if (auto cached = video_cache_.get(seq, now)) {
      from.retransmit(size_t(index), cached->data(), cached->size(), now);
    } else {
      from.count_not_cached();
    }
  }
}

void Stream::send_publisher_rtcp(Bytes& packet) {
  const size_t len = packet.size();
  packet.resize(len + webrtc::PeerConnection::kSrtpTrailerRoom);
  publisher_->send_rtcp(packet.data(), len, packet.size());
}

void Stream::send_feedback(Timestamp now) {
  if (!publisher_ || !publisher_->connected()) return;
  uint32_t video_ssrc = 0;
  for (const auto& t : tracks_) {
    if (t.video) video_ssrc = t.ssrc;
  }
  if (keyframes_.should_send(now) && video_ssrc) {
    Pli pli{feedback_ssrc_, video_ssrc};
    Bytes buf;
    build_pli(pli, buf);
    send_publisher_rtcp(buf);
  }
  // Ask again for what the publisher's packets skipped, before viewers or the
  // recorder have to give up on a frame.
  for (size_t i = 0; i < tracks_.size(); ++i) {
    const auto& fbs = tracks_[i].negotiated.codec.rtcp_fbs;
    if (!tracks_[i].video || !tracks_[i].ssrc ||
        std::find(fbs.begin(), fbs.end(), "nack") == fbs.end())
      continue;
    Nack nack;
    nack_[i].collect(now, nack.lost);
    if (nack.lost.empty()) continue;
    nack.sender_ssrc = feedback_ssrc_;
    nack.media_ssrc = tracks_[i].ssrc;
    Bytes buf;
    build_nack(nack, buf);
    send_publisher_rtcp(buf);
  }
  if (now - last_rr_ >= kRrInterval) {
    last_rr_ = now;
    ReceiverReport rr;
    rr.ssrc = feedback_ssrc_;
    for (size_t i = 0; i < tracks_.size(); ++i) {
      if (tracks_[i].ssrc && receive_stats_[i].has_packets()) {
        rr.report_blocks.push_back(receive_stats_[i].report_block(tracks_[i].ssrc, now));
      }
    }
    Bytes buf;
    build_receiver_report(rr, buf);
    send_publisher_rtcp(buf);
  }
  if (use_twcc_ && now - last_twcc_ >= kTwccInterval) {
    last_twcc_ = now;
    for (Bytes& fb : twcc_.build_feedback(feedback_ssrc_, video_ssrc, now)) send_publisher_rtcp(fb);
  } else if (!use_twcc_ && video_ssrc && now - last_remb_ >= kRembInterval) {
    last_remb_ = now;
    Remb remb;
    remb.sender_ssrc = feedback_ssrc_;
    remb.bitrate_bps = kRembBitrate;
    remb.ssrcs = {video_ssrc};
    Bytes buf;
    build_remb(remb, buf);
    send_publisher_rtcp(buf);
  }
}

void Stream::tick(Timestamp now) {
  if (ended_) return;
  if (upstream_) {
    if (upstream_->origin_ended.load(std::memory_order_acquire)) return end("the stream ended");
    upstream_->viewers.store(viewer_count(), std::memory_order_relaxed);  // a relay has no relays
    if (const uint64_t dropped = upstream_->ring.dropped(); dropped != relay_dropped_) {
      spdlog::warn("stream '{}': relay worker fell behind, {} packets dropped", name_,
                   dropped - relay_dropped_);
      relay_dropped_ = dropped;
    }
    return;  // no publisher to give feedback to
  }
  for (auto it = relays_.begin(); it != relays_.end();) {
    if ((*it)->relay_gone.load(std::memory_order_acquire)) {
      it = relays_.erase(it);
      continue;
    }
    if ((*it)->keyframe_wanted.exchange(false, std::memory_order_relaxed)) keyframes_.request();
    ++it;
  }
  peak_viewers_ = std::max(peak_viewers_, viewer_count());
  // Keep asking the incoming source for the keyframe it takes over at.
  if (next_publisher_ && next_publisher_->connected() &&
      now - last_switch_pli_ >= std::chrono::milliseconds(500)) {
    last_switch_pli_ = now;
    for (const auto& t : next_tracks_) {
      if (!t.video || !t.ssrc) continue;
      Pli pli{feedback_ssrc_, t.ssrc};
      Bytes buf;
      build_pli(pli, buf);
      const size_t len = buf.size();
      buf.resize(len + webrtc::PeerConnection::kSrtpTrailerRoom);
      next_publisher_->send_rtcp(buf.data(), len, buf.size());
    }
  }
  if (recording_ && recording_->keyframe_wanted.exchange(false, std::memory_order_relaxed)) {
    keyframes_.request();
  }
  send_feedback(now);
}

}  // namespace lss::sfu
