// A clip's sidecar is read back from the spool after a crash or a full disk
// may have cut or garbled it: parse arbitrary text the way the uploader does,
// and what parses must survive the sidecar writer's round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "record/clip_info.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto info = lss::record::parse_sidecar(text);
  if (!info) return 0;
  auto again = lss::record::parse_sidecar(lss::record::to_json(*info).dump(2));
  if (!again || lss::record::to_json(*again) != lss::record::to_json(*info)) std::abort();
  return 0;
}
