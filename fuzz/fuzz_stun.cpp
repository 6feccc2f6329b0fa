// STUN arrives from anyone on the media port: parse, verify and answer it.
// Anything the agent answers must itself be a well-formed STUN message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "stun/ice_lite_agent.hpp"
#include "stun/stun_message.hpp"

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const lss::ByteSpan in(data, size);
  const bool stunish = lss::looks_like_stun(in);
  if (auto ufrag = lss::stun_local_ufrag(in)) check(stunish && !ufrag->empty());
  auto m = lss::StunMessage::parse(in);
  if (m.ok()) {
    // parse() takes any RFC 8489 type (first byte 0..63); RFC 7983 demux
    // only routes first bytes 0..3 to STUN.
    check(stunish == (data[0] <= 3));
    (void)m->verify_fingerprint();
    (void)m->verify_message_integrity("VOkJxbRl1RmTxUk/WvJxBt");
    (void)m->xor_mapped_address();
    (void)m->username();
    (void)m->priority();
    (void)m->ice_controlling();
    (void)m->ice_controlled();
    (void)m->error_code();
    (void)m->error_reason();
    for (const auto& a : m->attributes()) {
      check(a.value.data() >= data && a.value.data() + a.value.size() <= data + size);
    }
  }
  (void)lss::verify_fingerprint(in);

  // The seeds use the RFC 5769 credentials, so the fuzzer can reach the
  // authenticated path by mutating them.
  static const lss::Timestamp t0 = lss::Clock::now();
  lss::IceLiteAgent agent("evtj", "VOkJxbRl1RmTxUk/WvJxBt", "", t0);
  const auto from = lss::SocketAddress::ipv4(0xC0000201, 32853);
  lss::IceResult r = agent.handle_stun(in, from, t0);
  if (!r.response.empty()) {
    auto resp = lss::StunMessage::parse(r.response);
    check(resp.ok() && resp->verify_fingerprint());
    if (r.authenticated) {
      check(resp->verify_message_integrity(agent.local_pwd()));
      check(resp->xor_mapped_address() == from);
      check(agent.selected_address() == from);
    }
  }
  return 0;
}
