#include "rtp/rtx.hpp"

#include <cstring>

namespace lss {

size_t build_rtx(const RtpPacket& original, uint8_t rtx_payload_type, uint32_t rtx_ssrc,
                 uint16_t rtx_seq, uint8_t* out, size_t capacity) {
  const size_t header = original.header_size();
  const ByteSpan payload = original.payload();
  const size_t size = header + 2 + payload.size();
  if (size > capacity) return 0;
  std::memcpy(out, original.data(), header);
  out[0] &= uint8_t(~0x20);  // no padding: it was not copied
  store_be16(out + header, original.sequence_number());
  std::memcpy(out + header + 2, payload.data(), payload.size());
  RtpPacket rtx;
  if (!RtpPacket::parse(out, size, rtx)) return 0;
  rtx.set_payload_type(rtx_payload_type);
  rtx.set_ssrc(rtx_ssrc);
  rtx.set_sequence_number(rtx_seq);
  return size;
}

bool unwrap_rtx(uint8_t*& data, size_t& size, RtpPacket& pkt, uint8_t payload_type, uint32_t ssrc) {
  if (pkt.payload().size() < 2) return false;
  const uint16_t osn = load_be16(pkt.payload().data());
  const size_t header = pkt.header_size();
  std::memmove(data + 2, data, header);
  data += 2;
  size -= 2;
  if (!RtpPacket::parse(data, size, pkt)) return false;
  pkt.set_sequence_number(osn);
  pkt.set_payload_type(payload_type);
  pkt.set_ssrc(ssrc);
  return true;
}

}  // namespace lss
