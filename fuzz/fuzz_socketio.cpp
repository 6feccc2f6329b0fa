// Socket.IO frames come from any HTTP client: split and parse arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "socketio/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string_view packet : lss::socketio::split_payload(text)) {
    if (packet.size() > 1 && packet[0] == '4') {
      auto p = lss::socketio::parse_packet(packet.substr(1));
      if (p.ok()) (void)lss::socketio::encode_message(*p);
    }
  }
  return 0;
}
