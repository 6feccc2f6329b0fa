#pragma once
// One receiver's view of a video track that may arrive in several layers
// (simulcast) or be paused for it: it follows one layer, switches only at a
// keyframe of the layer it is asked for, can drop upper temporal layers, and
// rewrites SSRC, sequence number, timestamp and VP8 picture ID / TL0PICIDX so
// the receiver sees one continuous stream: no gaps to NACK, no jumps its
// jitter buffer or decoder would take for loss. It remembers how its recent
// packets were mapped, so a NACK for one is served from the source's cache.
// Sans-I/O; the per-packet path allocates nothing.
#include <array>
#include <cstdint>
#include <optional>

#include "codec/keyframe.hpp"
#include "common/time.hpp"
#include "rtp/rtp_packet.hpp"

namespace lss::sfu {

class VideoRewriter {
 public:
  static constexpr int kPaused = -1;
  static constexpr int kAllTemporalLayers = 3;

  VideoRewriter(uint32_t out_ssrc, codec::VideoCodec codec, uint32_t clock_rate = 90000);

  // The layer to follow from its next keyframe on (kPaused: send nothing).
  void set_target(int layer) { target_ = layer; }
  int target() const { return target_; }
  int current() const { return current_; }
  // Asked for a layer it does not follow yet: a keyframe of it is needed.
  bool waiting_for_keyframe() const { return target_ != kPaused && target_ != current_; }
  // Highest VP8 temporal layer passed on; raised at the next layer-sync frame.
  void set_max_temporal_layer(int tid);
  int max_temporal_layer() const { return max_tid_; }
  // What was asked for (raised only at a layer-sync frame).
  int requested_temporal_layer() const { return pending_max_tid_; }
  // Added to the followed layer's RTP timestamps (for its sender reports).
  uint32_t timestamp_offset() const { return off_.ts; }
  // The timestamp of the newest packet sent (probe padding reuses it).
  uint32_t last_timestamp() const { return last_out_ts_; }

  // `pkt` is this receiver's own copy of a packet of `layer`, rewritten in
  // place when it goes out (true) and left as is when it does not (false).
  bool rewrite(int layer, RtpPacket& pkt, bool keyframe_start, Timestamp now);

  // Where a packet sent as `out_seq` came from, to answer a NACK.
  struct Origin {
    int layer;
    uint16_t source_seq;
  };
  std::optional<Origin> origin_of(uint16_t out_seq) const;
  // Rewrites a copy of that source packet exactly as it was first sent.
  bool rewrite_repair(uint16_t out_seq, RtpPacket& pkt) const;

  struct Counters {
    uint64_t switches = 0, dropped_layer = 0, dropped_temporal = 0, dropped_paused = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Offsets {
    uint16_t seq = 0;
    uint32_t ts = 0;
    uint16_t picture_id = 0;  // 15-bit arithmetic
    uint8_t tl0 = 0;
    bool operator==(const Offsets&) const = default;
  };
  void rebase(const RtpPacket& pkt, Timestamp now);
  void apply(RtpPacket& pkt, uint16_t out_seq, const Offsets& o) const;
  bool drop_temporal(const RtpPacket& pkt, bool keyframe_start);

  uint32_t out_ssrc_;
  codec::VideoCodec codec_;
  uint32_t clock_rate_;
  int target_ = kPaused;
  int current_ = kPaused;
  int max_tid_ = kAllTemporalLayers, pending_max_tid_ = kAllTemporalLayers;
  Offsets off_;
  bool sent_any_ = false;
  uint16_t last_out_seq_ = 0;  // highest sent
  uint32_t last_out_ts_ = 0;
  Timestamp last_out_time_{};
  uint16_t last_out_picture_id_ = 0;
  uint8_t last_out_tl0_ = 0;
  bool has_source_seq_ = false;
  uint16_t last_source_seq_ = 0;  // highest of the current layer, sent or dropped

  // What each of the last 512 sequence numbers sent was, to answer NACKs:
  // 4 bytes each. The offsets only change at a re-base or a dropped
  // temporal-layer packet, so each entry names them by a tag into a small
  // table of the latest kOffsetTags sets rather than holding a copy (20
  // bytes each, 10 KiB per viewer, was most of a viewer's own memory).
  struct Sent {
    uint16_t source_seq = 0;
    uint8_t tag = 0;  // index into offset_sets_ (with its generation check)
    int8_t layer = -1;
  };
  struct OffsetSet {
    Offsets offsets;
    uint32_t generation = 0;  // 0: unused
  };
  static constexpr size_t kOffsetTags = 64;
  // The entry for `out_seq` and its offsets, if it was sent and its set is
  // still in the table.
  const Offsets* sent_offsets(uint16_t out_seq, const Sent*& entry) const;
  std::array<Sent, 512> history_{};
  std::array<OffsetSet, kOffsetTags> offset_sets_{};
  uint32_t generation_ = 0;  // of the newest set in offset_sets_
  Counters counters_;
};

}  // namespace lss::sfu
