#include "sfu/video_rewriter.hpp"

#include <algorithm>

#include "codec/vp8_descriptor.hpp"

namespace lss::sfu {

namespace {
bool newer(uint16_t a, uint16_t b) {
  return int16_t(uint16_t(a - b)) > 0;
}
}  // namespace

VideoRewriter::VideoRewriter(uint32_t out_ssrc, codec::VideoCodec codec, uint32_t clock_rate)
    : out_ssrc_(out_ssrc), codec_(codec), clock_rate_(clock_rate) {}

void VideoRewriter::set_max_temporal_layer(int tid) {
  pending_max_tid_ = std::clamp(tid, 0, kAllTemporalLayers);
  if (pending_max_tid_ < max_tid_) max_tid_ = pending_max_tid_;  // going down is immediate
}

void VideoRewriter::rebase(const RtpPacket& pkt, Timestamp now) {
  codec::Vp8Descriptor d;
  const bool vp8 =
      codec_ == codec::VideoCodec::kVP8 && codec::parse_vp8_descriptor(pkt.payload(), d);
  if (!sent_any_) {
    off_ = Offsets{};  // the first layer keeps its own numbering
  } else {
    // Continue where the last layer left off; the timestamp advances by the
    // wall-clock time since the last packet, as the new layer's would have.
    off_.seq = uint16_t(last_out_seq_ + 1 - pkt.sequence_number());
    const double elapsed = std::chrono::duration<double>(now - last_out_time_).count();
    const auto step = uint32_t(std::max(1.0, elapsed * clock_rate_));
    off_.ts = last_out_ts_ + step - pkt.timestamp();
    if (vp8 && d.has_picture_id) {
      off_.picture_id = uint16_t((last_out_picture_id_ + 1 - d.picture_id) & 0x7fff);
    }
    if (vp8 && d.has_tl0) off_.tl0 = uint8_t(last_out_tl0_ + 1 - d.tl0picidx);
  }
  has_source_seq_ = true;
  last_source_seq_ = uint16_t(pkt.sequence_number() - 1);
}

void VideoRewriter::apply(RtpPacket& pkt, uint16_t out_seq, const Offsets& o) const {
  pkt.set_ssrc(out_ssrc_);
  pkt.set_sequence_number(out_seq);
  pkt.set_timestamp(pkt.timestamp() + o.ts);
  if (codec_ != codec::VideoCodec::kVP8) return;
  codec::Vp8Descriptor d;
  if (!codec::parse_vp8_descriptor(pkt.payload(), d)) return;
  uint8_t* payload = pkt.data() + pkt.header_size();
  if (d.has_picture_id)
    codec::write_vp8_picture_id(payload, d, uint16_t((d.picture_id + o.picture_id) & 0x7fff));
  if (d.has_tl0) codec::write_vp8_tl0picidx(payload, d, uint8_t(d.tl0picidx + o.tl0));
}

bool VideoRewriter::drop_temporal(const RtpPacket& pkt, bool keyframe_start) {
  if (codec_ != codec::VideoCodec::kVP8 ||
      (max_tid_ >= kAllTemporalLayers && pending_max_tid_ >= kAllTemporalLayers))
    return false;
  codec::Vp8Descriptor d;
  if (!codec::parse_vp8_descriptor(pkt.payload(), d) || !d.has_tid) return false;
  // Up again only where the decoder can follow: a layer-sync frame (its
  // references are all in layers already passed) or a base-layer one.
  if (pending_max_tid_ > max_tid_ && d.frame_start() && d.tid <= pending_max_tid_ &&
      (d.layer_sync || d.tid == 0 || keyframe_start)) {
    max_tid_ = pending_max_tid_;
  }
  if (d.tid <= max_tid_ || keyframe_start) return false;
  // Dropped for good: later packets move up to close the gap, so the
  // receiver neither NACKs it nor sees a picture ID missing.
  if (newer(pkt.sequence_number(), last_source_seq_)) {
    last_source_seq_ = pkt.sequence_number();
    --off_.seq;
  }
  if (d.frame_start() && d.has_picture_id)
    off_.picture_id = uint16_t((off_.picture_id - 1) & 0x7fff);
  ++counters_.dropped_temporal;
  return true;
}

bool VideoRewriter::rewrite(int layer, RtpPacket& pkt, bool keyframe_start, Timestamp now) {
  if (target_ == kPaused) {
    if (current_ != kPaused) current_ = kPaused;
    ++counters_.dropped_paused;
    return false;
  }
  if (layer != current_) {
    if (layer != target_ || !keyframe_start) {
      ++counters_.dropped_layer;
      return false;
    }
    rebase(pkt, now);
    if (current_ != kPaused || sent_any_) ++counters_.switches;
    current_ = layer;
  }
  // Until the target's keyframe comes, the current layer goes on.
  if (drop_temporal(pkt, keyframe_start)) return false;
  if (!has_source_seq_ || newer(pkt.sequence_number(), last_source_seq_)) {
    has_source_seq_ = true;
    last_source_seq_ = pkt.sequence_number();
  }

  const Offsets o = off_;
  const uint16_t source_seq = pkt.sequence_number();
  const uint16_t out_seq = uint16_t(source_seq + o.seq);
  const uint32_t source_ts = pkt.timestamp();
  codec::Vp8Descriptor d;
  const bool vp8 =
      codec_ == codec::VideoCodec::kVP8 && codec::parse_vp8_descriptor(pkt.payload(), d);
  apply(pkt, out_seq, o);
  if (!sent_any_ || newer(out_seq, last_out_seq_)) {
    last_out_seq_ = out_seq;
    last_out_ts_ = source_ts + o.ts;
    last_out_time_ = now;
    if (vp8 && d.has_picture_id)
      last_out_picture_id_ = uint16_t((d.picture_id + o.picture_id) & 0x7fff);
    if (vp8 && d.has_tl0) last_out_tl0_ = uint8_t(d.tl0picidx + o.tl0);
  }
  sent_any_ = true;
  if (generation_ == 0 || offset_sets_[generation_ % kOffsetTags].offsets != o) {
    if (++generation_ == 0) generation_ = 1;  // 0 marks an unused set
    offset_sets_[generation_ % kOffsetTags] = OffsetSet{o, generation_};
  }
  history_[out_seq % history_.size()] = Sent{source_seq, uint8_t(generation_), int8_t(layer)};
  return true;
}

const VideoRewriter::Offsets* VideoRewriter::sent_offsets(uint16_t out_seq,
                                                          const Sent*& entry) const {
  const Sent& s = history_[out_seq % history_.size()];
  if (s.layer < 0) return nullptr;
  // kOffsetTags divides 256, so the tag's low bits are the set's index; the
  // set must still be the one the tag named, and the entry must be this very
  // number (not one 512 apart).
  static_assert(256 % kOffsetTags == 0);
  const OffsetSet& set = offset_sets_[s.tag % kOffsetTags];
  if (set.generation == 0 || uint8_t(set.generation) != s.tag) return nullptr;
  if (uint16_t(s.source_seq + set.offsets.seq) != out_seq) return nullptr;
  entry = &s;
  return &set.offsets;
}

std::optional<VideoRewriter::Origin> VideoRewriter::origin_of(uint16_t out_seq) const {
  const Sent* s = nullptr;
  if (!sent_offsets(out_seq, s)) return std::nullopt;
  return Origin{s->layer, s->source_seq};
}

bool VideoRewriter::rewrite_repair(uint16_t out_seq, RtpPacket& pkt) const {
  const Sent* s = nullptr;
  const Offsets* o = sent_offsets(out_seq, s);
  if (!o || pkt.sequence_number() != s->source_seq) return false;
  apply(pkt, out_seq, *o);
  return true;
}

}  // namespace lss::sfu
