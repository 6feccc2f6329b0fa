// RTP and RTCP as they arrive after SRTP: parse, read extensions, rewrite a
// copy in place, and walk compound RTCP.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/keyframe.hpp"
#include "rtp/rtcp_packets.hpp"
#include "rtp/rtp_packet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> copy(data, data + size);
  lss::RtpPacket p;
  if (lss::RtpPacket::parse(copy.data(), copy.size(), p)) {
    for (uint8_t id = 0; id < 16; ++id) (void)p.find_extension(id);
    std::array<uint8_t, 256> map{};
    for (size_t i = 0; i < map.size(); ++i) map[i] = uint8_t((i * 7) % 15);
    p.remap_extension_ids(map);
    p.set_payload_type(100);
    p.set_ssrc(1);
    (void)lss::codec::is_keyframe_start(lss::codec::VideoCodec::kVP8, p.payload());
  }
  (void)lss::for_each_rtcp(lss::ByteSpan(data, size), [](const lss::RtcpPacket&) {});
  return 0;
}
