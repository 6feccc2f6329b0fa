// SDP fragments come straight from WHIP/WHEP PATCH bodies: parse, print and
// re-parse arbitrary text; what we print we must read back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sdp/sdp_fragment.hpp"

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = lss::sdp::parse_sdp_fragment(text);
  if (!f.ok()) return 0;
  (void)f->parsed_candidates();
  if (auto u = f->ufrag()) check(lss::sdp::valid_ice_ufrag(*u));
  if (auto p = f->pwd()) check(lss::sdp::valid_ice_pwd(*p));
  const std::string printed = lss::sdp::write_sdp_fragment(*f);
  auto again = lss::sdp::parse_sdp_fragment(printed);
  check(again.ok());
  check(again->ufrag() == f->ufrag() && again->pwd() == f->pwd());
  check(again->ice_lite == f->ice_lite && again->ice_options == f->ice_options);
  check(again->media.size() == f->media.size());
  for (size_t i = 0; i < f->media.size(); ++i) {
    check(again->media[i].mid == f->media[i].mid);
    check(again->media[i].candidates == f->media[i].candidates);
    check(again->media[i].end_of_candidates == f->media[i].end_of_candidates);
  }
  check(lss::sdp::write_sdp_fragment(*again) == printed);
  return 0;
}
