// PeerJS frames come from any client of the PeerJS server: parse arbitrary
// text, and rebuild what parses the way the gateway answers it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "peerjs/peerjs_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = lss::peerjs::parse(text);
  if (m.ok() && m->type == lss::peerjs::Type::kOffer) {
    (void)lss::peerjs::answer(m->src, m->connection_id, m->sdp);
    (void)lss::peerjs::valid_id(m->src);
  }
  return 0;
}
