#pragma once
// The VP8 RTP payload descriptor (RFC 7741 §4.2) as an in-place view: the
// fields an SFU reads (start of partition, temporal layer) and rewrites
// (picture ID, TL0PICIDX) when it hands one viewer a continuous stream out
// of several layers. Rewriting keeps each field's width, so the packet size
// never changes. Nothing allocates.
#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"

namespace lss::codec {

struct Vp8Descriptor {
  bool start = false;     // S: first packet of a partition
  uint8_t partition = 0;  // PID
  bool has_picture_id = false;
  bool long_picture_id = false;  // 15 bits (M=1), else 7
  uint16_t picture_id = 0;
  size_t picture_id_at = 0;
  bool has_tl0 = false;
  uint8_t tl0picidx = 0;
  size_t tl0_at = 0;
  bool has_tid = false;
  uint8_t tid = 0;
  bool layer_sync = false;  // Y
  size_t size = 0;          // descriptor bytes before the VP8 payload header

  // First packet of a frame.
  bool frame_start() const { return start && partition == 0; }
};

// False when the descriptor is truncated.
bool parse_vp8_descriptor(ByteSpan payload, Vp8Descriptor& out);

// Writes picture ID (wrapped to the field's width) and TL0PICIDX where the
// descriptor has them.
void write_vp8_picture_id(uint8_t* payload, const Vp8Descriptor& d, uint16_t picture_id);
void write_vp8_tl0picidx(uint8_t* payload, const Vp8Descriptor& d, uint8_t tl0picidx);

}  // namespace lss::codec
