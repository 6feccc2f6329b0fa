#pragma once
// H264 NAL units for the load generator's publishers. H264 as Matroska/MP4 store it (ISO/IEC
// 14496-15 "AVCC"): each sample is a run of NAL units behind 1, 2 or 4-byte big-endian lengths, and
// SPS/PPS sit in the codec's extradata (the avcC record), not in the stream. RTP (RFC 6184) carries
// bare NAL units, and a viewer joining at a keyframe needs SPS/PPS in-band, so the load generator
// converts frames here. Every length is checked: a corrupt file is an error, never a read past the
// buffer.
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace lss::load {

using NalUnits = std::vector<Bytes>;

// The parts of an AVCDecoderConfigurationRecord the packetizer needs.
struct AvcConfig {
  int length_size = 4;  // bytes of each NAL unit's length prefix: 1, 2 or 4
  NalUnits sps, pps;
};

Result<AvcConfig> parse_avcc(ByteSpan extradata);
// A sample's NAL units, in order, without their length prefixes.
Result<NalUnits> split_avcc(ByteSpan sample, int length_size);

// One access unit ready to packetize: the sample's NAL units, with the
// config's SPS and PPS put in front when it holds an IDR slice (and no SPS of
// its own), so every keyframe decodes on its own.
struct AccessUnit {
  NalUnits nals;
  bool idr = false;
};
Result<AccessUnit> avcc_access_unit(ByteSpan sample, const AvcConfig& config);

// A filler data NAL unit (type 12) of exactly `size` bytes (at least 2): the
// header, 0xFF payload bytes and the 0x80 rbsp trailing bits. Decoders drop
// it, so it pads an access unit to a bitrate without breaking it.
Bytes h264_filler_nal(size_t size);

constexpr uint8_t h264_nal_type(ByteSpan nal) {
  return nal.empty() ? 0 : nal[0] & 0x1f;
}

}  // namespace lss::load
