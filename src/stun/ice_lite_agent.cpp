#include "stun/ice_lite_agent.hpp"

#include "stun/stun_message.hpp"

namespace lss {

IceLiteAgent::IceLiteAgent(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag,
                           Timestamp now)
    : local_ufrag_(std::move(local_ufrag)),
      local_pwd_(std::move(local_pwd)),
      remote_ufrag_(std::move(remote_ufrag)),
      last_valid_(now) {}

IceResult IceLiteAgent::handle_stun(ByteSpan datagram, const SocketAddress& from, Timestamp now) {
  IceResult r;
  auto parsed = StunMessage::parse(datagram);
  if (!parsed.ok()) {
    r.error = parsed.error().message;
    return r;
  }
  const StunMessage& m = parsed.value();
  if (m.type() == stun::kBindingIndication) return r;  // keepalive, nothing to answer
  if (m.type() != stun::kBindingRequest) {
    r.error = "not a Binding request";
    return r;
  }
  auto refuse = [&](int code, const char* reason, std::string_view key) {
    r.error = reason;
    r.response = StunBuilder(stun::kBindingError, m.transaction_id())
                     .add_error_code(code, reason)
                     .finish(key, true);
  };
  // Be lenient with what checks carry (FFmpeg sends no PRIORITY or
  // ICE-CONTROLLING) but strict on authentication.
  if (!m.verify_fingerprint()) {
    r.error = "missing or bad FINGERPRINT";
    return r;  // may not even be STUN: stay silent
  }
  const auto username = m.username();
  if (!username || !m.find(stun::kAttrMessageIntegrity)) {
    refuse(400, "Bad Request", {});
    return r;
  }
  const std::string_view u = *username;
  const bool user_ok =
      u.size() > local_ufrag_.size() && u.substr(0, local_ufrag_.size()) == local_ufrag_ &&
      u[local_ufrag_.size()] == ':' &&
      (remote_ufrag_.empty() || u.substr(local_ufrag_.size() + 1) == remote_ufrag_);
  if (!user_ok || !m.verify_message_integrity(local_pwd_)) {
    refuse(401, "Unauthorized", {});
    return r;
  }
  // A role conflict (the peer claims ICE-CONTROLLED) would call for 487, but
  // like mediasoup we answer normally: browsers are always controlling here.
  r.authenticated = true;
  r.nominated = m.has_use_candidate();
  last_valid_ = now;
  if (r.nominated) {
    selected_ = from;
    nominated_ = true;
  } else if (!selected_) {
    selected_ = from;
  }
  r.response = StunBuilder(stun::kBindingSuccess, m.transaction_id())
                   .add_xor_mapped_address(from)
                   .finish(local_pwd_, true);
  return r;
}

}  // namespace lss
