#include "h264_packetizer.hpp"

#include <algorithm>
#include <cstring>

namespace lss::load {

namespace {

constexpr uint8_t kStapA = 24, kFuA = 28;

}  // namespace

H264Packetizer::H264Packetizer(const NalUnits& nals, size_t max_payload)
    : nals_(nals), max_(std::max<size_t>(max_payload, 3)) {
  skip_empty();
}

void H264Packetizer::skip_empty() {
  while (nal_ < nals_.size() && nals_[nal_].empty()) ++nal_;
}

size_t H264Packetizer::next(uint8_t* out) {
  if (done()) return 0;
  if (sent_ == 0) {
    // STAP-A: this NAL unit and at least the next one fit in one payload.
    size_t count = 0, size = 1;
    uint8_t f_nri = 0;  // F: any unit's; NRI: the highest (RFC 6184 5.7.1)
    for (size_t k = nal_; k < nals_.size(); ++k) {
      const Bytes& n = nals_[k];
      if (n.empty()) continue;
      if (size + 2 + n.size() > max_) break;
      size += 2 + n.size();
      ++count;
      f_nri = uint8_t((f_nri & 0x80) | (n[0] & 0x80) | std::max(f_nri & 0x60, n[0] & 0x60));
    }
    if (count >= 2) {
      size_t len = 0;
      out[len++] = uint8_t(f_nri | kStapA);
      for (size_t done_units = 0; done_units < count; ++nal_) {
        const Bytes& n = nals_[nal_];
        if (n.empty()) continue;
        store_be16(out + len, uint16_t(n.size()));
        std::memcpy(out + len + 2, n.data(), n.size());
        len += 2 + n.size();
        ++done_units;
      }
      skip_empty();
      return len;
    }
    const Bytes& n = nals_[nal_];
    if (n.size() <= max_) {
      std::memcpy(out, n.data(), n.size());
      ++nal_;
      skip_empty();
      return n.size();
    }
  }
  return write_fu_a(out);
}

size_t H264Packetizer::write_fu_a(uint8_t* out) {
  const Bytes& n = nals_[nal_];
  // The NAL header is not repeated: its F/NRI go in the FU indicator, its
  // type in the FU header; fragments carry the bytes after it.
  const size_t body = n.size() - 1, remaining = body - sent_, room = max_ - 2;
  const size_t fragments = (remaining + room - 1) / room;
  const size_t chunk = (remaining + fragments - 1) / fragments;  // even split, no runt
  const bool start = sent_ == 0, end = chunk == remaining;
  out[0] = uint8_t((n[0] & 0xe0) | kFuA);
  out[1] = uint8_t((start ? 0x80 : 0) | (end ? 0x40 : 0) | (n[0] & 0x1f));
  std::memcpy(out + 2, n.data() + 1 + sent_, chunk);
  sent_ += chunk;
  if (end) {
    sent_ = 0;
    ++nal_;
    skip_empty();
  }
  return 2 + chunk;
}

}  // namespace lss::load
