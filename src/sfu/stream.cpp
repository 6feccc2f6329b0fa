#include "sfu/stream.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>

#include "codec/vp8_descriptor.hpp"
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
// Simulcast's lower layers carry a fraction of the top one's packets.
constexpr size_t kLowerLayerCacheSlots = 256;
constexpr auto kRrInterval = std::chrono::milliseconds(1000);
constexpr auto kTwccInterval = std::chrono::milliseconds(50);
constexpr auto kRembInterval = std::chrono::milliseconds(1000);
constexpr uint64_t kRembBitrate = 5'000'000;  // ceiling; the encoder's own BWE still limits
// A layer with no packet for this long is not offered to viewers.
constexpr auto kLayerIdle = std::chrono::milliseconds(1000);
constexpr auto kLayerCheckInterval = std::chrono::milliseconds(250);

// Reused for the SRs built per viewer: no allocation once grown.
thread_local Bytes t_rtcp;

// An NTP-format (32.32 fixed point seconds) time for RRTRs. Only its echo
// matters, so the steady clock serves: no wall clock is read.
uint64_t reference_ntp(Timestamp now) {
  const auto since = now.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  const auto frac = std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count();
  return (uint64_t(secs.count()) << 32) | uint64_t((uint64_t(frac) << 32) / 1'000'000'000);
}

}  // namespace

Stream::Stream(std::string name, std::string session_id, std::vector<PublishedTrack> tracks,
               std::shared_ptr<RelayLink> upstream)
    : name_(std::move(name)),
      session_id_(std::move(session_id)),
      started_at_(iso8601_utc()),
      tracks_(std::move(tracks)),
      upstream_(std::move(upstream)),
      feedback_ssrc_(random_u32() | 1) {
  sources_.resize(tracks_.size());
  recorder_video_.resize(tracks_.size());
  for (size_t i = 0; i < tracks_.size(); ++i) {
    PublishedTrack& t = tracks_[i];
    if (t.layers.empty()) t.layers.emplace_back();
    if (t.layers.size() > kMaxLayers) t.layers.resize(kMaxLayers);
    reset_sources(i);
    if (t.twcc_ext_id) use_twcc_ = true;
    if (t.video) {
      recorder_video_[i].emplace(t.out_ssrc, t.video_codec, t.negotiated.codec.clock_rate);
      // Simulcast: which layer is the top one is known once they arrive.
      recorder_video_[i]->set_target(t.simulcast() ? VideoRewriter::kPaused : 0);
    }
  }
}

void Stream::reset_sources(size_t track) {
  const PublishedTrack& t = tracks_[track];
  auto& layers = sources_[track];
  layers.clear();
  for (size_t l = 0; l < t.layers.size(); ++l) {
    size_t slots = 0;
    if (t.video) {
      slots = upstream_ ? kRelayVideoCacheSlots : kVideoCacheSlots;
      if (t.simulcast()) slots = kLowerLayerCacheSlots * (l + 1 == t.layers.size() ? 2 : 1);
    }
    layers.push_back(std::make_unique<Source>(t.negotiated.codec.clock_rate, slots));
  }
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
      if (t.layers.size() != tracks_[i].layers.size()) {
        return make_error("the new source sends " + std::to_string(t.layers.size()) +
                          " layers, the stream " + std::to_string(tracks_[i].layers.size()));
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
  flush_fanout();  // what waits belongs to the tracks as they are
  auto old = std::move(publisher_);
  publisher_ = std::move(next_publisher_);
  for (size_t i = 0; i < tracks_.size(); ++i) {
    const PublishedTrack& n = next_tracks_[i];
    if (n.negotiated.mid.empty()) {
      for (auto& l : tracks_[i].layers) l.ssrc = l.rtx_ssrc = 0;  // the new source lacks it
    } else {
      const uint32_t out = tracks_[i].out_ssrc, out_rtx = tracks_[i].out_rtx_ssrc;
      tracks_[i] = n;
      tracks_[i].out_ssrc = out;
      tracks_[i].out_rtx_ssrc = out_rtx;
    }
    // Fresh per-source state, but numbering carried on from what viewers saw.
    for (auto& s : sources_[i]) {
      Source& src = *s;
      src.stats = RtpReceiveStats(tracks_[i].negotiated.codec.clock_rate);
      src.nack = NackGenerator();
      src.seen = DuplicateFilter();
      src.rebase = true;
    }
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

Stream::~Stream() {
  if (fanout_batch_) fanout_batch_->forget(this);
}

Subscriber& Stream::add_subscriber(std::unique_ptr<Subscriber> sub) {
  unwatched_since_ = {};  // watched again (see unwatched_for)
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
  flush_fanout();  // the viewers get what arrived before the end
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

StreamInfo Stream::info(Timestamp now) const {
  StreamInfo i;
  i.name = name_;
  i.session_id = session_id_;
  i.started_at = started_at_;
  i.viewers = size_t(viewer_count());
  i.pulled = pulled_;
  for (const auto& t : tracks_) {
    (t.video ? i.video_codec : i.audio_codec) = t.negotiated.codec.name;
  }
  if (now != Timestamp{}) {
    for (const auto& layers : sources_) {
      for (const auto& s : layers) i.bitrate_bps += s->rate.bps(now);
    }
  }
  return i;
}

SessionSummary Stream::publisher_summary(Timestamp now) const {
  const StreamInfo i = info(now);
  SessionSummary s;
  s.stream = name_;
  s.stream_id = session_id_;
  s.session_id = session_id_;
  s.publisher = true;
  s.remote = publisher_label_;
  if (publisher_) {
    s.connected = publisher_->connected();
    if (auto a = publisher_->remote_address()) set_media_address(s, *a);
  }
  s.video_codec = i.video_codec;
  s.audio_codec = i.audio_codec;
  s.bitrate_bps = i.bitrate_bps;
  // The worst video source (a simulcast layer) by our latest receiver report.
  uint8_t lost = 0;
  for (size_t t = 0; t < tracks_.size(); ++t) {
    if (!tracks_[t].video) continue;
    for (const auto& src : sources_[t]) lost = std::max(lost, src->stats.last_fraction_lost());
  }
  s.loss = lost / 256.0;
  if (auto rtt = publisher_rtt_.rtt())
    s.rtt_ms = std::chrono::duration<double, std::milli>(*rtt).count();
  s.since = started_at_;
  return s;
}

void Stream::request_keyframe(size_t track, int layer) {
  if (track >= tracks_.size() || layer < 0 || size_t(layer) >= sources_[track].size()) return;
  if (upstream_) {
    upstream_->keyframe_wanted.fetch_or(uint64_t(1) << source_index(track, size_t(layer)),
                                        std::memory_order_relaxed);
  } else {
    source(track, size_t(layer)).keyframes.request();
  }
}

std::optional<ByteSpan> Stream::cached(size_t track, int layer, uint16_t seq, Timestamp now) const {
  if (track >= tracks_.size() || layer < 0 || size_t(layer) >= sources_[track].size())
    return std::nullopt;
  return sources_[track][size_t(layer)]->cache.get(seq, now);
}

std::vector<LayerRate> Stream::operating_points(size_t track, Timestamp now) {
  std::vector<LayerRate> out;
  if (track >= tracks_.size()) return out;
  for (size_t l = 0; l < sources_[track].size(); ++l) {
    Source& s = source(track, l);
    if (s.rate.last_packet() == Timestamp{} || now - s.rate.last_packet() > kLayerIdle) continue;
    const uint64_t all = s.rate.bps(now);
    out.push_back({operating_point(int(l), kAllTemporal), all});
    // Temporal subsets, where the layer has them (base, base + 1), only of
    // the lowest spatial layer arriving: above it, a lower resolution at
    // the full frame rate looks better than a higher one at 7-15 fps, so
    // frames are dropped only where there is no smaller layer to go to.
    if (out.size() > 1) continue;
    uint64_t upto = 0;
    for (int t = 0; t < 2; ++t) {
      RateMeter& m = s.temporal_rate[size_t(t)];
      if (m.last_packet() == Timestamp{} || now - m.last_packet() > kLayerIdle) break;
      upto += m.bps(now);
      const RateMeter& above = s.temporal_rate[size_t(t + 1)];
      if (above.last_packet() == Timestamp{} || now - above.last_packet() > kLayerIdle) break;
      if (upto < all) out.push_back({operating_point(int(l), t), upto});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LayerRate& a, const LayerRate& b) { return a.bps < b.bps; });
  return out;
}

std::vector<LayerRate> Stream::active_layers(size_t track, Timestamp now) {
  std::vector<LayerRate> out;
  if (track >= tracks_.size()) return out;
  for (size_t l = 0; l < sources_[track].size(); ++l) {
    Source& s = source(track, l);
    if (s.rate.last_packet() == Timestamp{} || now - s.rate.last_packet() > kLayerIdle) continue;
    out.push_back({int(l), s.rate.bps(now)});
  }
  std::sort(out.begin(), out.end(),
            [](const LayerRate& a, const LayerRate& b) { return a.bps < b.bps; });
  return out;
}

std::optional<Stream::Located> Stream::locate(std::vector<PublishedTrack>& tracks,
                                              const RtpPacket& pkt) {
  const uint32_t ssrc = pkt.ssrc();
  for (size_t i = 0; i < tracks.size(); ++i) {
    auto& t = tracks[i];
    if (t.negotiated.mid.empty()) continue;  // a switch's source that lacks this track
    for (size_t l = 0; l < t.layers.size(); ++l) {
      if (t.layers[l].ssrc == ssrc) return Located{i, l, false};
      if (t.layers[l].rtx_ssrc && t.layers[l].rtx_ssrc == ssrc) return Located{i, l, true};
    }
  }
  // Unknown SSRC: a simulcast layer names itself with the rid extension (its
  // RTX with repaired-rid); without simulcast, the payload types tell the
  // tracks apart, since each section negotiated exactly one codec.
  const uint8_t pt = pkt.payload_type();
  for (size_t i = 0; i < tracks.size(); ++i) {
    auto& t = tracks[i];
    if (t.negotiated.mid.empty()) continue;
    const bool media = pt == t.negotiated.codec.payload_type;
    const bool rtx =
        t.negotiated.codec.rtx_payload_type && pt == *t.negotiated.codec.rtx_payload_type;
    if (!media && !rtx) continue;
    if (t.simulcast()) {
      const uint8_t ext = rtx ? t.repaired_rid_ext_id : t.rid_ext_id;
      if (!ext) continue;
      const ByteSpan rid = pkt.find_extension(ext);
      if (rid.empty()) continue;
      for (size_t l = 0; l < t.layers.size(); ++l) {
        const std::string& want = t.layers[l].rid;
        if (want.size() != rid.size() || std::memcmp(want.data(), rid.data(), rid.size()) != 0)
          continue;
        (rtx ? t.layers[l].rtx_ssrc : t.layers[l].ssrc) = ssrc;
        return Located{i, l, rtx};
      }
      continue;
    }
    if (media && t.layers[0].ssrc == 0) {
      t.layers[0].ssrc = ssrc;
      return Located{i, 0, false};
    }
    if (rtx && t.layers[0].rtx_ssrc == 0) {
      t.layers[0].rtx_ssrc = ssrc;
      return Located{i, 0, true};
    }
  }
  return std::nullopt;
}

void Stream::on_connected(webrtc::PeerConnection& pc, Timestamp now) {
  if (&pc == next_publisher_.get()) {
    spdlog::info("stream '{}': new source connected", name_);
    last_switch_pli_ = Timestamp{};  // ask for its keyframe at the next tick
    return;
  }
  spdlog::info("stream '{}': publisher connected", name_);
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (!tracks_[i].video) continue;
    for (auto& s : sources_[i]) s->keyframes.request();
  }
}

void Stream::on_rtp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) {
  RtpPacket pkt;
  if (!RtpPacket::parse(data, size, pkt)) return;
  if (&pc != publisher_.get()) {
    if (&pc != next_publisher_.get()) return;  // a retiring source
    // The new source takes over at the start of a keyframe, so viewers and
    // the recording cut cleanly; until then the current source goes on.
    auto next = locate(next_tracks_, pkt);
    if (!next || next->rtx) return;
    const PublishedTrack& t = next_tracks_[next->track];
    const bool has_video =
        std::any_of(next_tracks_.begin(), next_tracks_.end(),
                    [](const PublishedTrack& n) { return n.video && !n.negotiated.mid.empty(); });
    if (has_video && !(t.video && codec::is_keyframe_start(t.video_codec, pkt.payload()))) return;
    cut_over(now);
  }
  auto at = locate(tracks_, pkt);
  if (!at) return;
  PublishedTrack& track = tracks_[at->track];
  Source& src = source(at->track, at->layer);

  if (track.twcc_ext_id) {
    ByteSpan ext = pkt.find_extension(track.twcc_ext_id);
    if (ext.size() >= 2) twcc_.record(load_be16(ext.data()), now);
  }
  if (at->rtx && !unwrap_rtx(data, size, pkt, track.negotiated.codec.payload_type,
                             track.layers[at->layer].ssrc))
    return;
  if (!src.seen.first_time(pkt.sequence_number())) {
    ++duplicates_;
    return;
  }
  src.stats.update(pkt.sequence_number(), pkt.timestamp(), now);
  if (track.video) src.nack.on_packet(pkt.sequence_number(), now);

  // Sequence numbers and timestamps continue across source switches (the
  // offsets are zero until the first switch).
  if (src.rebase) {
    src.rebase = false;
    if (src.sent) {
      const double elapsed = std::chrono::duration<double>(now - src.last_time).count();
      const auto step = uint32_t(std::max(1.0, elapsed * track.negotiated.codec.clock_rate));
      src.seq_offset = uint16_t(src.last_seq + 1 - pkt.sequence_number());
      src.ts_offset = src.last_ts + step - pkt.timestamp();
    }
  }
  pkt.set_sequence_number(uint16_t(pkt.sequence_number() + src.seq_offset));
  pkt.set_timestamp(pkt.timestamp() + src.ts_offset);
  if (!src.sent || int16_t(pkt.sequence_number() - src.last_seq) > 0) {
    src.sent = true;
    src.last_seq = pkt.sequence_number();
    src.last_ts = pkt.timestamp();
    src.last_time = now;
  }
  src.rate.add(size, now);

  const bool keyframe = track.video && codec::is_keyframe_start(track.video_codec, pkt.payload());
  if (keyframe) src.keyframes.keyframe_received();
  // Audio goes out on the stream's SSRC as is; each viewer's rewriter gives
  // video its SSRC.
  if (!track.video) pkt.set_ssrc(track.out_ssrc);
  // Relays first: their workers fan out in parallel with ours below.
  if (!relays_.empty()) {
    push_to_relays(
        uint8_t(source_index(at->track, at->layer)) | (keyframe ? RelayLink::kKeyframeFlag : 0),
        data, size, now);
  }
  deliver(at->track, at->layer, data, size, keyframe, now);
}

void Stream::deliver(size_t track, size_t layer, uint8_t* data, size_t size, bool keyframe,
                     Timestamp now) {
  const PublishedTrack& t = tracks_[track];
  if (t.video) {
    Source& src = *sources_[track][layer];
    src.cache.store(ByteSpan(data, size), load_be16(data + 2), now);
    if (t.video_codec == codec::VideoCodec::kVP8) {
      // Rates per temporal layer, for viewers that cannot carry them all.
      RtpPacket pkt;
      codec::Vp8Descriptor d;
      if (RtpPacket::parse(data, size, pkt) && codec::parse_vp8_descriptor(pkt.payload(), d) &&
          d.has_tid && d.tid < src.temporal_rate.size()) {
        src.temporal_rate[d.tid].add(size, now);
      }
    }
  }
  if (recording_) record(track, layer, data, size, keyframe, now);
  if (subscribers_.empty()) return;
  if (fanout_batch_ && fanout_batch_->open()) {
    if (pending_count_ == 0) fanout_batch_->waiting(this);
    pending_[pending_count_++] = {uint8_t(track), uint8_t(layer), keyframe,
                                  uint16_t(size), data,           now};
    if (pending_count_ == kMaxPending) flush_fanout();
    return;
  }
  for (auto& sub : subscribers_) sub->forward(track, layer, t, data, size, keyframe, now);
}

void Stream::flush_fanout() {
  const size_t n = std::exchange(pending_count_, 0);
  for (auto& sub : subscribers_) {
    for (size_t i = 0; i < n; ++i) {
      const Pending& p = pending_[i];
      sub->forward(p.track, p.layer, tracks_[p.track], p.data, p.size, p.keyframe, p.now);
    }
  }
}

void Stream::record(size_t track, size_t layer, uint8_t* data, size_t size, bool keyframe,
                    Timestamp now) {
  auto& rewriter = recorder_video_[track];
  if (!rewriter) {
    recording_->ring.push(uint8_t(track), data, size, now);
    return;
  }
  // The recorder's own copy: the cached original stays as the layer sent it.
  uint8_t copy[RetransmissionBuffer::kSlotSize];
  if (size > sizeof copy) return;
  std::memcpy(copy, data, size);
  RtpPacket pkt;
  if (!RtpPacket::parse(copy, size, pkt)) return;
  if (rewriter->rewrite(int(layer), pkt, keyframe, now)) {
    recording_->ring.push(uint8_t(track), copy, size, now);
  }
}

void Stream::update_recorded_layer(Timestamp now) {
  // The recording follows the top layer: it starts on it, and moves only
  // when the layer it follows stops (the publisher's encoder dropped it) or
  // a clearly better one is back, at that layer's keyframe.
  for (size_t i = 0; i < tracks_.size(); ++i) {
    auto& rewriter = recorder_video_[i];
    if (!rewriter || !tracks_[i].simulcast()) continue;
    const auto layers = active_layers(i, now);
    if (layers.empty()) continue;
    const LayerRate& top = layers.back();
    const auto current = std::find_if(layers.begin(), layers.end(), [&](const LayerRate& l) {
      return l.layer == rewriter->current();
    });
    const bool move = current == layers.end() || top.bps > current->bps * 3 / 2;
    if (move && rewriter->target() != top.layer) rewriter->set_target(top.layer);
    if (rewriter->waiting_for_keyframe()) request_keyframe(i, rewriter->target());
  }
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
  // Up to kMaxPending packets at a time, their slots kept from the origin
  // until they have gone to every viewer (flush_fanout reads them).
  // `arrival`: the oldest of a chunk, whose sends all wait for its end.
  size_t n = 0;
  do {
    bool first = true;
    n = upstream_->ring.visit(
        [&](record::PacketRing::Slot& slot) {
          if (std::exchange(first, false)) arrival = slot.arrival;
          const size_t index = slot.track & RelayLink::kTrackMask;
          const size_t track = index / kMaxLayers, layer = index % kMaxLayers;
          if (track >= tracks_.size() || layer >= sources_[track].size() || slot.size < 12) return;
          if (slot.track & RelayLink::kSenderReportFlag) {
            for_each_rtcp(ByteSpan(slot.data, slot.size), [&](const RtcpPacket& p) {
              if (const auto* sr = std::get_if<SenderReport>(&p))
                deliver_sender_report(track, layer, *sr, now);
            });
            return;
          }
          // The relay keeps its own retransmission cache (in deliver): its
          // viewers' NACKs are answered here, without a trip to the origin.
          source(track, layer).rate.add(slot.size, now);
          deliver(track, layer, slot.data, slot.size, slot.track & RelayLink::kKeyframeFlag, now);
        },
        kMaxPending);
    flush_fanout();
    upstream_->ring.release(n);
  } while (n == kMaxPending);
  if (upstream_->origin_ended.load(std::memory_order_acquire)) end("the stream ended");
}

void Stream::deliver_sender_report(size_t track, size_t layer, const SenderReport& sr,
                                   Timestamp now) {
  for (auto& sub : subscribers_) sub->on_sender_report(track, layer, sr, now);
  if (!recording_) return;
  // The recorder's timeline is the layer it follows, shifted like its packets.
  uint32_t rtp_ts = sr.rtp_timestamp;
  if (auto& rewriter = recorder_video_[track]) {
    if (rewriter->current() != int(layer)) return;
    rtp_ts += rewriter->timestamp_offset();
  }
  uint8_t rep[12];
  store_be64(rep, sr.ntp);
  store_be32(rep + 8, rtp_ts);
  recording_->ring.push(uint8_t(track) | record::PacketRing::kSenderReportFlag, rep, sizeof rep,
                        now);
}

void Stream::on_rtcp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) {
  if (&pc != publisher_.get()) return;
  // Sender reports keep viewers' audio and video in sync: each is passed on
  // with the timestamp in the numbering viewers see.
  for_each_rtcp(ByteSpan(data, size), [&](const RtcpPacket& p) {
    if (const auto* xr = std::get_if<ExtendedReport>(&p)) {
      on_publisher_dlrr(*xr, now);
      return;
    }
    const auto* sr = std::get_if<SenderReport>(&p);
    if (!sr) return;
    for (size_t i = 0; i < tracks_.size(); ++i) {
      for (size_t l = 0; l < tracks_[i].layers.size(); ++l) {
        if (tracks_[i].layers[l].ssrc != sr->ssrc) continue;
        Source& src = source(i, l);
        src.stats.on_sender_report(sr->ntp, now);
        if (src.rebase) continue;  // offsets not known yet after a switch
        SenderReport out = *sr;
        out.rtp_timestamp = sr->rtp_timestamp + src.ts_offset;
        out.report_blocks.clear();
        if (!relays_.empty()) {
          t_rtcp.clear();
          build_sender_report(out, t_rtcp);
          push_to_relays(RelayLink::kSenderReportFlag | uint8_t(source_index(i, l)), t_rtcp.data(),
                         t_rtcp.size(), now);
        }
        deliver_sender_report(i, l, out, now);
      }
    }
  });
}

void Stream::on_publisher_dlrr(const ExtendedReport& xr, Timestamp now) {
  for (const auto& d : xr.dlrr) {
    if (d.ssrc != feedback_ssrc_ || !publisher_rtt_.on_report_block(d.lrr, d.dlrr, now)) continue;
    // Repairs cannot come back sooner than this: NACK again only after it.
    for (size_t i = 0; i < tracks_.size(); ++i) {
      if (!tracks_[i].video) continue;
      for (auto& src : sources_[i]) src->nack.set_rtt(*publisher_rtt_.rtt());
    }
  }
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

void Stream::send_publisher_rtcp(Bytes& packet) {
  const size_t len = packet.size();
  packet.resize(len + webrtc::PeerConnection::kSrtpTrailerRoom);
  publisher_->send_rtcp(packet.data(), len, packet.size());
}

void Stream::send_feedback(Timestamp now) {
  if (!publisher_ || !publisher_->connected()) return;
  uint32_t video_ssrc = 0;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    const PublishedTrack& t = tracks_[i];
    if (!t.video) continue;
    for (size_t l = 0; l < t.layers.size(); ++l) {
      const uint32_t ssrc = t.layers[l].ssrc;
      if (!ssrc) continue;
      if (!video_ssrc) video_ssrc = ssrc;
      if (source(i, l).keyframes.should_send(now)) {
        Pli pli{feedback_ssrc_, ssrc};
        Bytes buf;
        build_pli(pli, buf);
        send_publisher_rtcp(buf);
        ++plis_sent_;
      }
    }
  }
  // Ask again for what the publisher's packets skipped, before viewers or the
  // recorder have to give up on a frame.
  for (size_t i = 0; i < tracks_.size(); ++i) {
    const auto& fbs = tracks_[i].negotiated.codec.rtcp_fbs;
    if (!tracks_[i].video || std::find(fbs.begin(), fbs.end(), "nack") == fbs.end()) continue;
    for (size_t l = 0; l < tracks_[i].layers.size(); ++l) {
      if (!tracks_[i].layers[l].ssrc) continue;
      Nack nack;
      source(i, l).nack.collect(now, nack.lost);
      if (nack.lost.empty()) continue;
      nack.sender_ssrc = feedback_ssrc_;
      nack.media_ssrc = tracks_[i].layers[l].ssrc;
      Bytes buf;
      build_nack(nack, buf);
      send_publisher_rtcp(buf);
    }
  }
  if (now - last_rr_ >= kRrInterval) {
    last_rr_ = now;
    ReceiverReport rr;
    rr.ssrc = feedback_ssrc_;
    for (size_t i = 0; i < tracks_.size(); ++i) {
      for (size_t l = 0; l < tracks_[i].layers.size(); ++l) {
        Source& src = source(i, l);
        const uint32_t ssrc = tracks_[i].layers[l].ssrc;
        if (ssrc && src.stats.has_packets() && rr.report_blocks.size() < 31) {
          rr.report_blocks.push_back(src.stats.report_block(ssrc, now));
        }
      }
    }
    Bytes buf;
    build_receiver_report(rr, buf);
    // We send no media to the publisher, so no sender report whose echo
    // would time the round trip: a receiver reference time (RFC 3611) does,
    // answered by a DLRR in the publisher's next report (libwebrtc does).
    ExtendedReport xr;
    xr.sender_ssrc = feedback_ssrc_;
    xr.rrtr_ntp = reference_ntp(now);
    build_extended_report(xr, buf);
    publisher_rtt_.on_sender_report_sent(*xr.rrtr_ntp, now);
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
    for (const auto& t : tracks_) {
      if (!t.video) continue;
      for (const auto& l : t.layers)
        if (l.ssrc) remb.ssrcs.push_back(l.ssrc);
    }
    Bytes buf;
    build_remb(remb, buf);
    send_publisher_rtcp(buf);
  }
}

void Stream::tick(Timestamp now) {
  if (ended_) return;
  for (auto& sub : subscribers_) sub->tick(now);
  if (now - last_layer_check_ >= kLayerCheckInterval) {
    last_layer_check_ = now;
    for (auto& sub : subscribers_) sub->select_layers(now);
    if (recording_) update_recorded_layer(now);
  }
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
    if (const uint64_t wanted = (*it)->keyframe_wanted.exchange(0, std::memory_order_relaxed)) {
      for (size_t i = 0; i < tracks_.size(); ++i) {
        for (size_t l = 0; l < sources_[i].size(); ++l) {
          if (wanted & (uint64_t(1) << source_index(i, l))) source(i, l).keyframes.request();
        }
      }
    }
    ++it;
  }
  peak_viewers_ = std::max(peak_viewers_, viewer_count());
  // Keep asking the incoming source for the keyframe it takes over at.
  if (next_publisher_ && next_publisher_->connected() &&
      now - last_switch_pli_ >= std::chrono::milliseconds(500)) {
    last_switch_pli_ = now;
    for (const auto& t : next_tracks_) {
      if (!t.video) continue;
      for (const auto& l : t.layers) {
        if (!l.ssrc) continue;
        Pli pli{feedback_ssrc_, l.ssrc};
        Bytes buf;
        build_pli(pli, buf);
        const size_t len = buf.size();
        buf.resize(len + webrtc::PeerConnection::kSrtpTrailerRoom);
        next_publisher_->send_rtcp(buf.data(), len, buf.size());
        ++plis_sent_;
      }
    }
  }
  if (recording_ && recording_->keyframe_wanted.exchange(false, std::memory_order_relaxed)) {
    for (size_t i = 0; i < tracks_.size(); ++i) {
      if (recorder_video_[i] && recorder_video_[i]->current() >= 0)
        source(i, size_t(recorder_video_[i]->current())).keyframes.request();
    }
  }
  send_feedback(now);
}

}  // namespace lss::sfu
