#pragma once
// RFC 6184 packetization-mode 1 (what WebRTC negotiates for H264): the RTP
// payloads of one access unit. Consecutive small NAL units (SPS + PPS in
// front of a keyframe, SEI) share a STAP-A; a NAL unit that fits goes alone
// (Single NAL Unit packet); a larger one is cut into FU-A fragments of even
// size. The sender sets the RTP marker on the last payload (done() after it).
#include <cstddef>
#include <cstdint>

#include "h264_nal.hpp"

namespace lss::load {

class H264Packetizer {
 public:
  // `nals` must outlive the packetizer; `max_payload` is at least 3 (an FU-A
  // needs two header bytes and one of data).
  H264Packetizer(const NalUnits& nals, size_t max_payload);

  bool done() const { return nal_ >= nals_.size(); }
  // Writes the next payload (at most max_payload bytes) to `out`; returns its
  // size, 0 once done.
  size_t next(uint8_t* out);

 private:
  void skip_empty();
  size_t write_fu_a(uint8_t* out);

  const NalUnits& nals_;
  size_t max_;
  size_t nal_ = 0;
  size_t sent_ = 0;  // FU-A in progress: bytes of nals_[nal_] after its header already sent
};

}  // namespace lss::load
