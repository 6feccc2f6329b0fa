#pragma once
// Adds or sets one RTP header extension element (RFC 8285) in a packet in
// place: the SFU numbers every packet it sends to a viewer with its own
// transport-wide sequence number, whether or not the publisher's packet
// carried one. The element goes into the block's trailing padding when it
// fits, else the block (or a new one) grows and the payload moves up.
// Nothing allocates.
#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"

namespace lss {

// Sets extension `id` to `value` in the RTP packet of `size` bytes at `buf`.
// Returns the packet's new size, or 0 when it would not fit `capacity`, the
// packet is malformed, an element `id` of another length is there already,
// or the block's profile cannot hold it (one-byte form: id 1..14, 1..16
// bytes; two-byte form: id 1..255, up to 255 bytes).
size_t set_header_extension(uint8_t* buf, size_t size, size_t capacity, uint8_t id, ByteSpan value);

}  // namespace lss
