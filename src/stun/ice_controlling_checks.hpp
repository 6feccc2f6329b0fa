#pragma once
// The full, controlling ICE agent's checks toward an ICE-lite peer (RFC
// 8445 §2.5, §7.2.5), sans I/O. A node that pulls a stream from another
// node's WHEP needs it: both ends of our server are ICE-lite, and two lite
// agents never check, so the puller must act as a browser does. With a lite
// peer there is nothing to gather and no role conflict: we are
// controlling, the peer's host candidates are the only pairs, and regular
// nomination picks the first pair that works.
//
//   IceControllingChecks ice(local, remote, peer_candidates, now);
//   on every timer and datagram:
//     for (auto& [bytes, to] : ice.due(now)) send(bytes, to);
//     ice.handle_response(datagram, from, now);   // STUN from the peer
//     ice.selected() / ice.failed(now)
//   wake up again at ice.next_event().
//
// Checks go out one every kPacing, round robin over the pairs, each
// retransmitted at RTO 100, 200, 400... ms. The first pair that answers is
// then nominated (the same check with USE-CANDIDATE); its success selects
// it. After that, a consent check (RFC 7675) goes out every 4-6 s; 30 s
// without an answer, or kConnectTimeout without any pair working, fails
// (both configurable: see Consent).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"
#include "stun/stun_message.hpp"

namespace lss {

struct IceCredentials {
  std::string ufrag, pwd;
};

class IceControllingChecks {
 public:
  static constexpr Duration kPacing = std::chrono::milliseconds(50);
  static constexpr Duration kInitialRto = std::chrono::milliseconds(100);
  static constexpr Duration kConnectTimeout = std::chrono::seconds(10);
  static constexpr Duration kConsentTimeout = std::chrono::seconds(30);

  // Consent freshness (RFC 7675): a check every `interval` (±20 %, at
  // random, so checks do not line up); `timeout` without an answer fails.
  // The defaults are the RFC's; a link between our own nodes checks faster
  // so that a dead origin is noticed in seconds.
  struct Consent {
    Duration interval = std::chrono::seconds(5);
    Duration timeout = kConsentTimeout;
  };

  IceControllingChecks(IceCredentials local, IceCredentials remote,
                       std::vector<SocketAddress> candidates, Timestamp now);
  IceControllingChecks(IceCredentials local, IceCredentials remote,
                       std::vector<SocketAddress> candidates, Timestamp now, Consent consent);

  // The checks to send at `now`: (datagram, destination).
  std::vector<std::pair<Bytes, SocketAddress>> due(Timestamp now);
  // When due() has something next.
  Timestamp next_event() const;
  // A STUN datagram from `from`. True when it was an answer to one of our
  // checks (success or error); anything else is not ours (a request from
  // the peer is answered by nobody: a lite peer sends none).
  bool handle_response(ByteSpan datagram, const SocketAddress& from, Timestamp now);

  // The nominated pair's remote address once its nomination succeeded.
  const std::optional<SocketAddress>& selected() const { return selected_; }
  // No pair worked in time, every pair failed, or consent was lost.
  bool failed(Timestamp now) const;
  const std::string& error() const { return error_; }

 private:
  struct Pair {
    SocketAddress remote;
    bool succeeded = false, failed = false;
  };
  struct Transaction {
    TransactionId id{};
    size_t pair = 0;
    bool nominate = false, consent = false;
    Timestamp next_send, deadline;
    Duration rto{};
    Bytes request;
  };

  Bytes make_check(const TransactionId& id, bool nominate) const;
  Duration consent_interval() const;
  void start(size_t pair, bool nominate, bool consent, Timestamp now);

  IceCredentials local_, remote_;
  Consent consent_;
  std::vector<Pair> pairs_;
  uint64_t tie_breaker_;
  Timestamp started_, next_pace_, next_consent_{}, last_consent_{};
  size_t next_pair_ = 0;
  std::vector<Transaction> pending_;
  std::optional<size_t> nominating_;
  std::optional<SocketAddress> selected_;
  std::string error_;
};

}  // namespace lss
