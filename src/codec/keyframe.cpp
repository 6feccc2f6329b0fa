#include "codec/keyframe.hpp"

#include <cctype>

namespace lss::codec {

VideoCodec video_codec_from_name(std::string_view name) {
  auto eq = [&](std::string_view s) {
    if (s.size() != name.size()) return false;
    for (size_t i = 0; i < s.size(); ++i)
      if (std::toupper(static_cast<unsigned char>(name[i])) != s[i]) return false;
    return true;
  };
  if (eq("VP8")) return VideoCodec::kVP8;
  if (eq("VP9")) return VideoCodec::kVP9;
  if (eq("H264")) return VideoCodec::kH264;
  if (eq("AV1") || eq("AV1X")) return VideoCodec::kAV1;
  return VideoCodec::kUnknown;
}

const char* video_codec_name(VideoCodec codec) {
  switch (codec) {
    case VideoCodec::kVP8:
      return "VP8";
    case VideoCodec::kVP9:
      return "VP9";
    case VideoCodec::kH264:
      return "H264";
    case VideoCodec::kAV1:
      return "AV1";
    default:
      return "unknown";
  }
}

bool is_keyframe_start(VideoCodec codec, ByteSpan payload) {
  switch (codec) {
    case VideoCodec::kVP8:
      return vp8_is_keyframe_start(payload);
    case VideoCodec::kVP9:
      return vp9_is_keyframe_start(payload);
    case VideoCodec::kH264:
      return h264_is_keyframe_start(payload);
    case VideoCodec::kAV1:
      return av1_is_keyframe_start(payload);
    default:
      return false;
  }
}

bool vp8_is_keyframe_start(ByteSpan p) {
  // Payload descriptor: X R N S R PID(3) [X: I L T K R R R R [I: M PictureID(7|15)] [L] [T|K]]
  if (p.empty()) return false;
  size_t i = 0;
  const uint8_t b0 = p[i++];
  const bool x = b0 & 0x80, s = b0 & 0x10;
  const uint8_t pid = b0 & 0x07;
  if (!s || pid != 0) return false;
  if (x) {
    if (i >= p.size()) return false;
    const uint8_t xb = p[i++];
    if (xb & 0x80) {  // I: PictureID, 7 or 15 bits
      if (i >= p.size()) return false;
      i += (p[i] & 0x80) ? 2 : 1;
    }
    if (xb & 0x40) ++i;  // L: TL0PICIDX
    if (xb & 0x30) ++i;  // T or K: TID/Y/KEYIDX
  }
  if (i >= p.size()) return false;
  // VP8 payload header: bit 0 of the first byte is the inverse key frame flag.
  return (p[i] & 0x01) == 0;
}

bool vp9_is_keyframe_start(ByteSpan p) {
  // I P L F B E V Z: P = inter-picture predicted, B = start of frame.
  if (p.empty()) return false;
  const uint8_t b0 = p[0];
  const bool pred = b0 & 0x40, begin = b0 & 0x08;
  if (!begin || pred) return false;
  // With layer indices (L), only the base spatial layer starts a keyframe.
  if (b0 & 0x20) {
    size_t i = 1;
    if (b0 & 0x80) {  // picture id
      if (i >= p.size()) return false;
      i += (p[i] & 0x80) ? 2 : 1;
    }
    if (i >= p.size()) return false;
    const uint8_t sid = (p[i] >> 1) & 0x07;
    return sid == 0;
  }
  return true;
}

bool h264_is_keyframe_start(ByteSpan p) {
  if (p.empty()) return false;
  const uint8_t type = p[0] & 0x1f;
  auto key_nal = [](uint8_t t) { return t == 5 || t == 7; };  // IDR slice or SPS
  if (type >= 1 && type <= 23) return key_nal(type);
  if (type == 24) {  // STAP-A: [2-byte size][NAL]...
    size_t i = 1;
    while (i + 2 < p.size()) {
      const size_t n = size_t(p[i]) << 8 | p[i + 1];
      i += 2;
      if (n == 0 || i + n > p.size()) return false;
      if (key_nal(p[i] & 0x1f)) return true;
      i += n;
    }
    return false;
  }
  if (type == 28) {  // FU-A: indicator, header (S E R type)
    if (p.size() < 2) return false;
    return (p[1] & 0x80) && key_nal(p[1] & 0x1f);
  }
  return false;
}

bool av1_is_keyframe_start(ByteSpan p) {
  // Aggregation header: Z Y W(2) N R R R; N = first packet of a coded video sequence.
  if (p.empty()) return false;
  return (p[0] & 0x08) && !(p[0] & 0x80);
}

}  // namespace lss::codec
