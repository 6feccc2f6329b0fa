#pragma once
// Keyframe detection on a single RTP payload, per codec payload format. The
// SFU uses it to start a new viewer's video at a keyframe and to know when a
// requested keyframe arrived. Only the first packet of a frame can say so.
#include <cstdint>
#include <string_view>

#include "common/bytes.hpp"

namespace lss::codec {

enum class VideoCodec : uint8_t { kUnknown, kVP8, kVP9, kH264, kAV1 };

VideoCodec video_codec_from_name(std::string_view name);  // "VP8", "h264", ...
const char* video_codec_name(VideoCodec codec);

// True when `payload` (RTP payload, no RTP header) starts a keyframe.
bool is_keyframe_start(VideoCodec codec, ByteSpan payload);

bool vp8_is_keyframe_start(ByteSpan payload);   // RFC 7741
bool vp9_is_keyframe_start(ByteSpan payload);   // RFC 9628
bool h264_is_keyframe_start(ByteSpan payload);  // RFC 6184: IDR or SPS
bool av1_is_keyframe_start(ByteSpan payload);   // AV1 RTP spec: N bit

}  // namespace lss::codec
