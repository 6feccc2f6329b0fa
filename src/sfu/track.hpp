#pragma once
// What the SFU knows about one published track, derived from the publish
// negotiation, plus what viewers see: the stream-level outbound SSRC.
#include <cstdint>
#include <optional>
#include <string>

#include "codec/keyframe.hpp"
#include "sdp/negotiation.hpp"

namespace lss::sfu {

struct PublishedTrack {
  sdp::NegotiatedTrack negotiated;  // mid, codec, payload types, extensions, ssrcs
  bool video = false;
  codec::VideoCodec video_codec = codec::VideoCodec::kUnknown;
  uint32_t ssrc = 0;      // publisher's media SSRC (from SDP, else learned from the first packet)
  uint32_t rtx_ssrc = 0;  // publisher's RTX SSRC, when known
  uint32_t out_ssrc = 0;  // SSRC every viewer receives this track on
  uint32_t out_rtx_ssrc = 0;  // video: where repairs go to viewers that negotiated RTX
  uint8_t twcc_ext_id = 0;
};

}  // namespace lss::sfu
