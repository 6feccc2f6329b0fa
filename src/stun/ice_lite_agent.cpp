#include "stun/ice_lite_agent.hpp"

#include <utility>

#include "stun/stun_message.hpp"

namespace lss {

IceLiteAgent::IceLiteAgent(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag,
                           Timestamp now)
    : current_{std::move(local_ufrag), std::move(local_pwd), std::move(remote_ufrag)},
      last_valid_(now) {}

bool IceLiteAgent::Credentials::username_ok(std::string_view u) const {
  // RFC 8445 §7.2.2: the recipient's ufrag first, "<local>:<remote>".
  const size_t n = local_ufrag.size();
  if (u.size() <= n + 1 || u.substr(0, n) != local_ufrag || u[n] != ':') return false;
  return remote_ufrag.empty() || u.substr(n + 1) == remote_ufrag;
}

void IceLiteAgent::restart(std::string local_ufrag, std::string local_pwd,
                           std::string remote_ufrag) {
  if (!previous_) previous_ = std::move(current_);
  current_ = {std::move(local_ufrag), std::move(local_pwd), std::move(remote_ufrag)};
}

bool IceLiteAgent::validated(const SocketAddress& from) const {
  for (const auto& [a, t] : validated_)
    if (a == from) return true;
  return false;
}

bool IceLiteAgent::select_if_validated(const SocketAddress& from) {
  if (selected_ == from || !validated(from)) return false;
  selected_ = from;
  return true;
}

std::optional<SocketAddress> IceLiteAgent::remember(const SocketAddress& from, Timestamp now) {
  for (auto& [a, t] : validated_) {
    if (a == from) {
      t = now;
      return std::nullopt;
    }
  }
  std::optional<SocketAddress> dropped;
  if (validated_.size() >= kMaxValidated) {
    // The least recently valid address other than the selected one.
    auto oldest = validated_.end();
    for (auto it = validated_.begin(); it != validated_.end(); ++it) {
      if (it->first == selected_) continue;
      if (oldest == validated_.end() || it->second < oldest->second) oldest = it;
    }
    if (oldest != validated_.end()) {
      dropped = oldest->first;
      validated_.erase(oldest);
    }
  }
  validated_.emplace_back(from, now);
  return dropped;
}

IceResult IceLiteAgent::handle_stun(ByteSpan datagram, const SocketAddress& from, Timestamp now) {
  IceResult r;
  auto parsed = StunMessage::parse(datagram);
  if (!parsed.ok()) {
    r.error = parsed.error().message;
    return r;
  }
  const StunMessage& m = parsed.value();
  if (m.has_fingerprint() && !m.verify_fingerprint()) {
    r.error = "bad STUN FINGERPRINT";
    return r;  // possibly not STUN at all: stay silent
  }
  switch (m.message_class()) {
    case StunClass::kIndication:
      return r;  // Binding indications are keepalives; nothing to answer
    case StunClass::kSuccess:
    case StunClass::kError:
      r.error = "unexpected STUN response (an ICE-lite agent sends no requests)";
      return r;
    case StunClass::kRequest:
      break;
  }
  auto refuse = [&](int code, const char* reason, const char* why) {
    r.error = why;
    const uint16_t error_type = uint16_t((m.type() & 0x3EEF) | 0x0110);  // same method, error class
    r.response =
        StunBuilder(error_type, m.transaction_id()).add_error_code(code, reason).finish({}, true);
  };
  if (m.method() != stun::kMethodBinding) {
    refuse(400, "Bad Request", "STUN request for a method other than Binding");
    return r;
  }
  if (!m.has_fingerprint()) {
    refuse(400, "Bad Request", "STUN Binding request without FINGERPRINT");
    return r;
  }
  const auto username = m.username();
  if (!username || !m.has_message_integrity()) {
    refuse(400, "Bad Request", "STUN Binding request without USERNAME or MESSAGE-INTEGRITY");
    return r;
  }
  // The current credentials, or those a pending restart is replacing.
  const Credentials* creds = &current_;
  if (!current_.username_ok(*username)) {
    if (!previous_ || !previous_->username_ok(*username)) {
      refuse(401, "Unauthorized", "STUN USERNAME does not match our ICE credentials");
      return r;
    }
    creds = &*previous_;
  }
  if (!m.verify_message_integrity(creds->local_pwd)) {
    refuse(401, "Unauthorized", "STUN MESSAGE-INTEGRITY does not verify with our ICE password");
    return r;
  }
  const std::string pwd = creds->local_pwd;  // `previous_` may be reset below
  r.authenticated = true;
  r.nominated = m.has_use_candidate();
  r.previous_credentials = creds != &current_;
  last_valid_ = now;
  r.forgotten = remember(from, now);
  if (previous_ && !r.previous_credentials && r.nominated) {
    // The peer nominated a pair of the new generation: the restart is done.
    previous_.reset();
    r.restart_completed = true;
  }
  // A lite agent takes USE-CANDIDATE as final (RFC 8445 §7.3.1.5); the
  // controlling side may nominate again later to switch paths.
  if (r.nominated) {
    selected_ = from;
    nominated_ = true;
  } else if (!selected_) {
    selected_ = from;
  }
  r.response = StunBuilder(stun::kBindingSuccess, m.transaction_id())
                   .add_xor_mapped_address(from)
                   .finish(pwd, true);
  return r;
}

}  // namespace lss
