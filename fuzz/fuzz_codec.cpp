// Keyframe detection reads attacker-controlled RTP payloads on the hot path.
#include <cstddef>
#include <cstdint>

#include "codec/keyframe.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lss::codec;
  const lss::ByteSpan p(data, size);
  for (auto c : {VideoCodec::kVP8, VideoCodec::kVP9, VideoCodec::kH264, VideoCodec::kAV1}) {
    (void)is_keyframe_start(c, p);
  }
  return 0;
}
