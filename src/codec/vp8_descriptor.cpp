#include "codec/vp8_descriptor.hpp"

namespace lss::codec {

bool parse_vp8_descriptor(ByteSpan p, Vp8Descriptor& d) {
  d = Vp8Descriptor{};
  if (p.empty()) return false;
  size_t i = 0;
  const uint8_t b0 = p[i++];
  d.start = b0 & 0x10;
  d.partition = b0 & 0x07;
  if (b0 & 0x80) {  // X
    if (i >= p.size()) return false;
    const uint8_t x = p[i++];
    if (x & 0x80) {  // I
      if (i >= p.size()) return false;
      d.has_picture_id = true;
      d.picture_id_at = i;
      if (p[i] & 0x80) {  // M
        if (i + 1 >= p.size()) return false;
        d.long_picture_id = true;
        d.picture_id = uint16_t((p[i] & 0x7f) << 8 | p[i + 1]);
        i += 2;
      } else {
        d.picture_id = p[i] & 0x7f;
        i += 1;
      }
    }
    if (x & 0x40) {  // L
      if (i >= p.size()) return false;
      d.has_tl0 = true;
      d.tl0_at = i;
      d.tl0picidx = p[i++];
    }
    if (x & 0x30) {  // T or K share one byte: TID(2) Y KEYIDX(5)
      if (i >= p.size()) return false;
      if (x & 0x20) {
        d.has_tid = true;
        d.tid = p[i] >> 6;
        d.layer_sync = p[i] & 0x20;
      }
      ++i;
    }
  }
  d.size = i;
  return i <= p.size();
}

void write_vp8_picture_id(uint8_t* payload, const Vp8Descriptor& d, uint16_t picture_id) {
  if (!d.has_picture_id) return;
  if (d.long_picture_id) {
    payload[d.picture_id_at] = uint8_t(0x80 | ((picture_id >> 8) & 0x7f));
    payload[d.picture_id_at + 1] = uint8_t(picture_id);
  } else {
    payload[d.picture_id_at] = uint8_t(picture_id & 0x7f);
  }
}

void write_vp8_tl0picidx(uint8_t* payload, const Vp8Descriptor& d, uint8_t tl0picidx) {
  if (d.has_tl0) payload[d.tl0_at] = tl0picidx;
}

}  // namespace lss::codec
