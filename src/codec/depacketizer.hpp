#pragma once
// RTP payloads back into whole encoded frames, per payload format, for the
// recorder (muxed by libavformat without transcoding).
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"

namespace lss::codec {

struct EncodedFrame {
  uint32_t rtp_timestamp = 0;
  bool keyframe = false;
  // VP8/VP9: the frame; H264: Annex B NAL units; AV1: low-overhead OBUs with
  // size fields (temporal delimiters dropped); Opus: the packet.
  Bytes data;
  int width = 0, height = 0;  // when the frame itself says (VP8/VP9 keyframe, H264 SPS)
};

class Depacketizer {
 public:
  virtual ~Depacketizer() = default;
  // "VP8", "VP9", "H264", "AV1", "opus" (any case); nullptr for anything else.
  static std::unique_ptr<Depacketizer> create(std::string_view codec);

  // Packets of one SSRC in sequence order. A sequence gap drops the frame in
  // progress and, for video, every frame until the next keyframe (a decoder
  // could not use them). Complete frames are appended to `out`.
  virtual void push(uint16_t seq, uint32_t rtp_timestamp, bool marker, ByteSpan payload,
                    std::vector<EncodedFrame>& out) = 0;
  virtual uint64_t dropped_frames() const = 0;
  virtual bool waiting_for_keyframe() const = 0;
};

// Width and height from an H264 SPS NAL (without start code), 0x0 if unparsable.
std::pair<int, int> h264_sps_dimensions(ByteSpan sps);

}  // namespace lss::codec
