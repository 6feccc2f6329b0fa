#include "rtp/rtp_packet.hpp"

#include <cstring>

namespace lss {

bool RtpPacket::parse(uint8_t* data, size_t size, RtpPacket& out) {
  if (size < 12 || (data[0] >> 6) != 2) return false;
  size_t header = 12 + 4 * size_t(data[0] & 0x0f);
  if (header > size) return false;
  size_t ext_offset = 0, ext_size = 0;
  uint16_t profile = 0;
  if (data[0] & 0x10) {
    if (header + 4 > size) return false;
    profile = load_be16(data + header);
    ext_size = 4 * size_t(load_be16(data + header + 2));
    ext_offset = header + 4;
    header = ext_offset + ext_size;
    if (header > size) return false;
  }
  size_t padding = 0;
  if (data[0] & 0x20) {
    if (size == header) return false;
    padding = data[size - 1];
    if (padding == 0 || header + padding > size) return false;
  }
  out.data_ = data;
  out.size_ = size;
  out.header_size_ = header;
  out.padding_ = padding;
  out.ext_offset_ = ext_offset;
  out.ext_size_ = ext_size;
  out.ext_profile_ = profile;
  return true;
}

// Calls f(id, value_offset, value_size, element_offset, element_size) for
// each element; stops at malformed data.
template <typename F>
void RtpPacket::for_each_extension(F&& f) const {
  if (!ext_size_) return;
  const bool one_byte = ext_profile_ == 0xBEDE;
  const bool two_byte = (ext_profile_ & 0xFFF0) == 0x1000;
  if (!one_byte && !two_byte) return;
  size_t i = ext_offset_;
  const size_t end = ext_offset_ + ext_size_;
  while (i < end) {
    if (one_byte) {
      const uint8_t b = data_[i];
      if (b == 0) {  // padding
        ++i;
        continue;
      }
      const uint8_t id = b >> 4;
      const size_t len = size_t(b & 0x0f) + 1;
      if (id == 15) return;  // reserved: stop processing (RFC 8285)
      if (i + 1 + len > end) return;
      f(id, i + 1, len, i, 1 + len);
      i += 1 + len;
    } else {
      const uint8_t id = data_[i];
      if (id == 0) {
        ++i;
        continue;
      }
      if (i + 2 > end) return;
      const size_t len = data_[i + 1];
      if (i + 2 + len > end) return;
      f(id, i + 2, len, i, 2 + len);
      i += 2 + len;
    }
  }
}

ByteSpan RtpPacket::find_extension(uint8_t id) const {
  ByteSpan found;
  for_each_extension([&](uint8_t eid, size_t off, size_t len, size_t, size_t) {
    if (eid == id && found.empty()) found = ByteSpan(data_ + off, len);
  });
  return found;
}

void RtpPacket::remap_extension_ids(const std::array<uint8_t, 256>& map) {
  const bool one_byte = ext_profile_ == 0xBEDE;
  for_each_extension([&](uint8_t id, size_t, size_t, size_t elem, size_t elem_size) {
    const uint8_t to = map[id];
    if (to == 0 || (one_byte && to >= 15)) {
      std::memset(data_ + elem, 0, elem_size);  // padding bytes
    } else if (one_byte) {
      data_[elem] = uint8_t((to << 4) | (data_[elem] & 0x0f));
    } else {
      data_[elem] = to;
    }
  });
}

}  // namespace lss
