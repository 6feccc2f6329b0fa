#include "stun/stun_binding_client.hpp"

#include <algorithm>

#include "common/random.hpp"

namespace lss {

namespace {

bool unusable(const SocketAddress& a) {
  if (a.port == 0) return true;
  const size_t n = a.is_ipv4() ? 4 : 16;
  return std::all_of(a.ip.begin(), a.ip.begin() + n, [](uint8_t b) { return b == 0; });
}

}  // namespace

TransactionId random_transaction_id() {
  TransactionId id;
  for (size_t i = 0; i < id.size(); i += 4) {
    const uint32_t r = random_u32();
    for (size_t k = 0; k < 4; ++k) id[i + k] = uint8_t(r >> (8 * k));
  }
  return id;
}

std::optional<SocketAddress> stun_mapped_address(const StunMessage& m) {
  const auto* a = m.find(stun::kAttrMappedAddress);
  if (!a || a->value.size() < 8) return std::nullopt;
  const uint8_t* v = a->value.data();
  SocketAddress addr;
  addr.port = load_be16(v + 2);
  if (v[1] == 0x01 && a->value.size() == 8) {
    addr.family = SocketAddress::Family::kIPv4;
    std::copy(v + 4, v + 8, addr.ip.begin());
    return addr;
  }
  if (v[1] == 0x02 && a->value.size() == 20) {
    addr.family = SocketAddress::Family::kIPv6;
    std::copy(v + 4, v + 20, addr.ip.begin());
    return addr;
  }
  return std::nullopt;
}

StunBindingTransaction::StunBindingTransaction(const TransactionId& id, Timestamp start,
                                               Duration timeout, Duration rto)
    : id_(id),
      request_(StunBuilder(stun::kBindingRequest, id).finish({}, true)),
      start_(start),
      deadline_(start + timeout),
      next_send_(start),
      rto_(rto) {}

bool StunBindingTransaction::due(Timestamp now) {
  if (state_ != State::kWaiting || now >= deadline_ || now < next_send_) return false;
  ++sends_;
  // Sends at 0, RTO, 3 RTO, 7 RTO... (the interval doubles each time).
  next_send_ = now + rto_ * (1 << std::min(sends_ - 1, 16));
  return true;
}

Timestamp StunBindingTransaction::next_event() const {
  return std::min(next_send_, deadline_);
}

bool StunBindingTransaction::timed_out(Timestamp now) {
  if (state_ == State::kWaiting && now >= deadline_) {
    state_ = State::kTimedOut;
    error_ = "no answer within " +
             std::to_string(std::chrono::duration_cast<milliseconds>(deadline_ - start_).count()) +
             " ms (" + std::to_string(sends_) + (sends_ == 1 ? " request)" : " requests)");
  }
  return state_ == State::kTimedOut;
}

bool StunBindingTransaction::handle_response(ByteSpan datagram) {
  if (state_ != State::kWaiting) return false;
  auto parsed = StunMessage::parse(datagram);
  if (!parsed.ok()) return false;  // not STUN: stray traffic on the socket
  const StunMessage& m = parsed.value();
  if (m.transaction_id() != id_ || m.method() != stun::kMethodBinding) return false;
  const StunClass cls = m.message_class();
  if (cls != StunClass::kSuccess && cls != StunClass::kError) return false;
  // A FINGERPRINT that does not verify means "not STUN" (RFC 8489 §7.3).
  if (m.has_fingerprint() && !m.verify_fingerprint()) return false;
  if (cls == StunClass::kError) {
    state_ = State::kFailed;
    const auto code = m.error_code();
    const auto reason = m.error_reason();
    error_ = "error response " + (code ? std::to_string(*code) : std::string("without a code"));
    if (reason && !reason->empty()) {
      // The server's words go into a log line: printable ASCII only.
      std::string r(reason->substr(0, 127));
      for (char& c : r) c = (c < 0x20 || c > 0x7e) ? '?' : c;
      error_ += " (" + r + ")";
    }
    return true;
  }
  std::optional<SocketAddress> mapped = m.xor_mapped_address();
  if (!mapped) mapped = stun_mapped_address(m);
  if (!mapped) {
    state_ = State::kFailed;
    error_ = "success response without XOR-MAPPED-ADDRESS";
    return true;
  }
  if (unusable(*mapped)) {
    state_ = State::kFailed;
    error_ = "success response with an unusable mapped address " + mapped->to_string();
    return true;
  }
  state_ = State::kMapped;
  mapped_ = mapped;
  return true;
}

}  // namespace lss
