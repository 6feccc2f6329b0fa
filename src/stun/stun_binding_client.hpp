#pragma once
// A STUN Binding client transaction (RFC 8489 §6.2.1, §7.2.1, §14.2), sans
// I/O: it builds the request, says when to (re)send it, and validates what
// comes back. The server uses it once at start (PUBLIC_IP=auto) to learn the
// address a STUN server sees its media socket as; the caller owns the
// socket, the clock and the DNS.
//
//   StunBindingTransaction t(random_transaction_id(), now);
//   while (!t.done()) {
//     if (t.due(now)) send(t.request());                  // at 0, RTO, 3 RTO...
//     wait for a datagram from the server until t.next_event();
//     t.handle_response(datagram);                        // or t.timed_out(now)
//   }
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"
#include "stun/stun_message.hpp"

namespace lss {

// 12 random bytes (RFC 8489 §6: cryptographically random, so an off-path
// attacker cannot forge the response).
TransactionId random_transaction_id();

class StunBindingTransaction {
 public:
  static constexpr Duration kDefaultTimeout = std::chrono::seconds(2);
  // RFC 8489 §6.2.1: initial RTO 500 ms, doubled after each retransmission.
  static constexpr Duration kDefaultRto = std::chrono::milliseconds(500);

  enum class State { kWaiting, kMapped, kFailed, kTimedOut };

  // The transaction starts at `start`; it gives up at `start + timeout`.
  StunBindingTransaction(const TransactionId& id, Timestamp start,
                         Duration timeout = kDefaultTimeout, Duration rto = kDefaultRto);

  const TransactionId& id() const { return id_; }
  // A Binding request with this transaction's id and a FINGERPRINT (no
  // credentials: a plain STUN server asks for none).
  const Bytes& request() const { return request_; }

  // True when the request is to be sent (again) at `now`: at the start,
  // then after RTO, 2 RTO, 4 RTO..., as long as the timeout is not reached
  // and no answer came. Each true counts as one send.
  bool due(Timestamp now);
  // When to call due() / timed_out() next: the next retransmission or the
  // deadline, whichever is first.
  Timestamp next_event() const;
  // Moves to kTimedOut once `now` reaches the deadline while still waiting.
  bool timed_out(Timestamp now);
  int sends() const { return sends_; }

  // Takes one datagram that arrived from the server. Anything that is not a
  // Binding response to this transaction (another transaction id, a
  // request, a bad FINGERPRINT, not STUN at all) is ignored and the
  // transaction keeps waiting; returns whether it was taken. A success
  // response yields kMapped with the XOR-MAPPED-ADDRESS (MAPPED-ADDRESS
  // from an RFC 3489-era server that sends only that); an error response,
  // or a success without a usable address, yields kFailed with the reason.
  bool handle_response(ByteSpan datagram);

  State state() const { return state_; }
  bool done() const { return state_ != State::kWaiting; }
  // Set in kMapped.
  const std::optional<SocketAddress>& mapped_address() const { return mapped_; }
  // Why it failed (kFailed, kTimedOut); empty otherwise.
  const std::string& error() const { return error_; }

 private:
  TransactionId id_;
  Bytes request_;
  Timestamp start_, deadline_, next_send_;
  Duration rto_;
  int sends_ = 0;
  State state_ = State::kWaiting;
  std::optional<SocketAddress> mapped_;
  std::string error_;
};

// MAPPED-ADDRESS (RFC 8489 §14.1, not XORed) of a parsed message; nullopt
// when absent or malformed.
std::optional<SocketAddress> stun_mapped_address(const StunMessage& message);

}  // namespace lss
