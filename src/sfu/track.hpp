#pragma once
// What the SFU knows about one published track, derived from the publish
// negotiation, plus what viewers see: the stream-level outbound SSRCs. A
// video track may come in several simulcast layers, each its own RTP stream.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/keyframe.hpp"
#include "sdp/negotiation.hpp"

namespace lss::sfu {

// Layers per track at most, and how a (track, layer) pair is numbered where
// it must fit a byte (relay and recording rings).
inline constexpr size_t kMaxLayers = 4;
inline size_t source_index(size_t track, size_t layer) {
  return track * kMaxLayers + layer;
}

struct PublishedLayer {
  std::string rid;        // simulcast rid; empty without simulcast
  uint32_t ssrc = 0;      // publisher's media SSRC (from SDP, else learnt from the packets)
  uint32_t rtx_ssrc = 0;  // publisher's RTX SSRC, when known
};

struct PublishedTrack {
  sdp::NegotiatedTrack negotiated;  // mid, codec, payload types, extensions, ssrcs, rids
  bool video = false;
  codec::VideoCodec video_codec = codec::VideoCodec::kUnknown;
  std::vector<PublishedLayer> layers;  // at least one
  uint32_t out_ssrc = 0;               // SSRC every viewer receives this track on
  uint32_t out_rtx_ssrc = 0;           // video: where repairs go to viewers that negotiated RTX
  uint8_t twcc_ext_id = 0;
  uint8_t rid_ext_id = 0, repaired_rid_ext_id = 0;  // simulcast: tell layers apart

  bool simulcast() const { return layers.size() > 1; }
};

}  // namespace lss::sfu
