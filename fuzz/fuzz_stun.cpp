// STUN arrives from anyone on the media port: parse, verify and answer it.
#include <cstddef>
#include <cstdint>

#include "stun/ice_lite_agent.hpp"
#include "stun/stun_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const lss::ByteSpan in(data, size);
  (void)lss::looks_like_stun(in);
  (void)lss::stun_local_ufrag(in);
  auto m = lss::StunMessage::parse(in);
  if (m.ok()) {
    (void)m->verify_fingerprint();
    (void)m->verify_message_integrity("password");
    (void)m->xor_mapped_address();
    (void)m->username();
    (void)m->error_code();
  }
  static const lss::Timestamp t0 = lss::Clock::now();
  lss::IceLiteAgent agent("abcd", "0123456789abcdefghijkl", "", t0);
  (void)agent.handle_stun(in, *lss::SocketAddress::parse("127.0.0.1", 9), t0);
  return 0;
}
