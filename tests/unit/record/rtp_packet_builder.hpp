#pragma once
// An RTP packet (version 2, SSRC 1) for the recorder tests.
#include "common/bytes.hpp"

namespace lss::record::test {

inline Bytes rtp(uint8_t pt, uint16_t seq, uint32_t ts, bool marker, ByteSpan payload) {
  Bytes p = {0x80,
             uint8_t(pt | (marker ? 0x80 : 0)),
             uint8_t(seq >> 8),
             uint8_t(seq),
             uint8_t(ts >> 24),
             uint8_t(ts >> 16),
             uint8_t(ts >> 8),
             uint8_t(ts),
             0,
             0,
             0,
             1};
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

}  // namespace lss::record::test
