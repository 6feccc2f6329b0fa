#include "h264_nal.hpp"

#include <algorithm>
#include <string>

namespace lss::load {

namespace {

constexpr uint8_t kNalIdr = 5, kNalSps = 7, kNalPps = 8, kNalAud = 9, kNalFiller = 12;

// `count` NAL units behind 16-bit lengths (the avcC record's SPS/PPS lists).
bool read_parameter_sets(ByteReader& r, size_t count, NalUnits& out) {
  for (size_t i = 0; i < count; ++i) {
    const uint16_t n = r.u16();
    ByteSpan nal = r.bytes(n);
    if (!r.ok() || n == 0) return false;
    out.emplace_back(nal.begin(), nal.end());
  }
  return true;
}

}  // namespace

Result<AvcConfig> parse_avcc(ByteSpan extradata) {
  // Annex B extradata (start codes) comes from raw .h264 input, not from
  // Matroska or MP4; say so rather than misreading it.
  if (extradata.size() >= 3 && extradata[0] == 0 && extradata[1] == 0 &&
      (extradata[2] == 1 || (extradata[2] == 0 && extradata.size() >= 4 && extradata[3] == 1)))
    return make_error("H264 extradata is Annex B, expected an avcC record (use Matroska or MP4)");
  ByteReader r(extradata);
  const uint8_t version = r.u8();
  r.skip(3);  // profile, compatibility, level: the SPS says the same
  const uint8_t length_size = uint8_t((r.u8() & 0x03) + 1);
  const size_t sps_count = r.u8() & 0x1f;
  if (!r.ok()) return make_error("H264 avcC record is truncated");
  if (version != 1)
    return make_error("H264 avcC record has version " + std::to_string(version) + ", expected 1");
  if (length_size == 3) return make_error("H264 avcC record has 3-byte NAL lengths (invalid)");
  AvcConfig config;
  config.length_size = length_size;
  if (!read_parameter_sets(r, sps_count, config.sps))
    return make_error("H264 avcC record: an SPS runs past its end");
  const size_t pps_count = r.u8();
  if (!r.ok() || !read_parameter_sets(r, pps_count, config.pps))
    return make_error("H264 avcC record: a PPS runs past its end");
  // (High profiles append chroma/bit-depth fields here; they are not needed.)
  if (config.sps.empty() || config.pps.empty())
    return make_error("H264 avcC record has no SPS or no PPS");
  for (const auto& s : config.sps)
    if (h264_nal_type(s) != kNalSps) return make_error("H264 avcC record: SPS of the wrong type");
  for (const auto& p : config.pps)
    if (h264_nal_type(p) != kNalPps) return make_error("H264 avcC record: PPS of the wrong type");
  return config;
}

Result<NalUnits> split_avcc(ByteSpan sample, int length_size) {
  if (length_size != 1 && length_size != 2 && length_size != 4)
    return make_error("H264 NAL length size must be 1, 2 or 4");
  NalUnits out;
  ByteReader r(sample);
  while (r.remaining() > 0) {
    const size_t at = r.position();
    const uint32_t n = length_size == 4 ? r.u32() : length_size == 2 ? r.u16() : r.u8();
    ByteSpan nal = r.bytes(n);
    if (!r.ok())
      return make_error("H264 sample: NAL unit at byte " + std::to_string(at) + " claims " +
                        std::to_string(n) + " bytes, past the sample's " +
                        std::to_string(sample.size()));
    // A zero length is legal padding in some muxers' output; nothing to send.
    if (n == 0) continue;
    if (nal[0] & 0x80) return make_error("H264 sample: NAL unit with the forbidden bit set");
    out.emplace_back(nal.begin(), nal.end());
  }
  if (out.empty()) return make_error("H264 sample holds no NAL unit");
  return out;
}

Result<AccessUnit> avcc_access_unit(ByteSpan sample, const AvcConfig& config) {
  auto nals = split_avcc(sample, config.length_size);
  if (!nals.ok()) return nals.error();
  AccessUnit au;
  bool has_sps = false;
  for (const auto& n : *nals) {
    au.idr |= h264_nal_type(n) == kNalIdr;
    has_sps |= h264_nal_type(n) == kNalSps;
  }
  au.nals = std::move(*nals);
  if (au.idr && !has_sps) {
    // After an access unit delimiter, which must stay first (H.264 7.4.1.2.3).
    const auto at = au.nals.begin() + (h264_nal_type(au.nals.front()) == kNalAud ? 1 : 0);
    NalUnits params = config.sps;
    params.insert(params.end(), config.pps.begin(), config.pps.end());
    au.nals.insert(at, params.begin(), params.end());
  }
  return au;
}

Bytes h264_filler_nal(size_t size) {
  Bytes nal(std::max<size_t>(size, 2), 0xff);
  nal.front() = kNalFiller;  // F=0, NRI=0: nothing depends on it
  nal.back() = 0x80;
  return nal;
}

}  // namespace lss::load
