#pragma once
// RTP retransmission payload format (RFC 4588), both ways: a repair packet
// carries the original sequence number (OSN) in its first two payload bytes,
// on its own SSRC, payload type and sequence space, so the receiver's loss
// statistics of the media stream stay true.
#include <cstddef>
#include <cstdint>

#include "rtp/rtp_packet.hpp"

namespace lss {

// Writes the RTX packet for `original` into `out` (header and extensions
// copied, padding dropped, OSN prepended to the payload). Returns its size,
// or 0 when `capacity` is too small. Never allocates.
size_t build_rtx(const RtpPacket& original, uint8_t rtx_payload_type, uint32_t rtx_ssrc,
                 uint16_t rtx_seq, uint8_t* out, size_t capacity);

// Turns an RTX packet back into the original in place: the header moves two
// bytes on over the OSN, which becomes the sequence number; `data`/`size`
// then describe the original and `pkt` views it. False for a payload too
// short to hold an OSN (padding-only bandwidth probes).
bool unwrap_rtx(uint8_t*& data, size_t& size, RtpPacket& pkt, uint8_t payload_type, uint32_t ssrc);

}  // namespace lss
