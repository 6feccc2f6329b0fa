// SDP offers come straight from HTTP bodies: parse, print, re-parse and
// negotiate both ways on arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sdp/negotiation.hpp"
#include "sdp/session_description.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sd = lss::sdp::parse_sdp(text);
  if (!sd.ok()) return 0;
  auto again = lss::sdp::parse_sdp(sd->to_string());
  if (!again.ok()) __builtin_trap();  // what we print we must parse
  lss::sdp::LocalTransport local{"ufrag", "0123456789012345678901", "AB:CD", {{"127.0.0.1", 9}}};
  auto pub = lss::sdp::answer_publish(*sd, local);
  if (pub.ok()) {
    if (!lss::sdp::parse_sdp(pub->sdp).ok()) __builtin_trap();
    (void)lss::sdp::answer_subscribe(*sd, local, pub->tracks, {"s", "c", 1, 2});
  }
  for (const auto& m : sd->media) {
    (void)m.rtpmaps();
    (void)m.extmaps();
    (void)m.ssrcs();
    (void)m.ssrc_groups("FID");
    for (const auto& r : m.rtpmaps()) (void)lss::sdp::parse_fmtp(m.fmtp(r.payload_type));
  }
  return 0;
}
