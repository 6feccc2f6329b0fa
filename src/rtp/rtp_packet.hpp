#pragma once
// RTP packets (RFC 3550) as zero-copy views over a caller's buffer, with
// in-place rewriting of the fields an SFU changes and RFC 8285 header
// extensions. Parsing checks every length; nothing here allocates.
#include <array>
#include <cstdint>

#include "common/bytes.hpp"

namespace lss {

// RFC 7983 first byte 128..191 (RTP version 2).
inline bool looks_like_rtp_or_rtcp(ByteSpan d) {
  return d.size() >= 8 && d[0] >= 128 && d[0] <= 191;
}
// RFC 5761: with rtcp-mux, RTCP packet types 192..223 in the second byte.
inline bool is_rtcp(ByteSpan d) {
  return d.size() >= 2 && d[1] >= 192 && d[1] <= 223;
}

class RtpPacket {
 public:
  static bool parse(uint8_t* data, size_t size, RtpPacket& out);

  bool marker() const { return data_[1] & 0x80; }
  uint8_t payload_type() const { return data_[1] & 0x7f; }
  uint16_t sequence_number() const { return load_be16(data_ + 2); }
  uint32_t timestamp() const { return load_be32(data_ + 4); }
  uint32_t ssrc() const { return load_be32(data_ + 8); }
  size_t csrc_count() const { return data_[0] & 0x0f; }
  size_t header_size() const { return header_size_; }
  size_t padding_size() const { return padding_; }
  size_t size() const { return size_; }
  ByteSpan payload() const {
    return ByteSpan(data_ + header_size_, size_ - header_size_ - padding_);
  }
  uint8_t* data() const { return data_; }

  void set_marker(bool m) { data_[1] = uint8_t((data_[1] & 0x7f) | (m ? 0x80 : 0)); }
  void set_payload_type(uint8_t pt) { data_[1] = uint8_t((data_[1] & 0x80) | (pt & 0x7f)); }
  void set_sequence_number(uint16_t s) { store_be16(data_ + 2, s); }
  void set_timestamp(uint32_t t) { store_be32(data_ + 4, t); }
  void set_ssrc(uint32_t s) { store_be32(data_ + 8, s); }

  // Value of header extension `id` (one-byte or two-byte form), or empty.
  ByteSpan find_extension(uint8_t id) const;
  // Rewrites extension ids in place: map[id] is the new id; 0 removes the
  // element by overwriting it with padding bytes (its length is kept).
  void remap_extension_ids(const std::array<uint8_t, 256>& map);

 private:
  template <typename F>
  void for_each_extension(F&& f) const;

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t header_size_ = 0;
  size_t padding_ = 0;
  size_t ext_offset_ = 0;  // start of extension elements (after the 4-byte ext header)
  size_t ext_size_ = 0;
  uint16_t ext_profile_ = 0;
};

}  // namespace lss
