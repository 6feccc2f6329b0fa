#pragma once
// The ICE-lite side of one peer (RFC 8445 §2.5): answers the full agent's
// Binding requests, tracks the selected address (latest nominated, else the
// first valid), and consent freshness (RFC 7675). It never sends checks and
// is always the controlled agent.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"

namespace lss {

struct IceResult {
  Bytes response;              // to send back to `from`; empty: nothing to send
  bool authenticated = false;  // a valid check: username and integrity verified
  bool nominated = false;      // ... carrying USE-CANDIDATE
  std::string error;           // why the datagram was refused or dropped (for logs); empty if not
  bool previous_credentials = false;  // ... with the credentials an ICE restart is replacing
  bool restart_completed = false;     // ... which completed a pending ICE restart
  // An address dropped from the validated ones to make room (the caller
  // stops routing its datagrams here).
  std::optional<SocketAddress> forgotten;
};

class IceLiteAgent {
 public:
  // `remote_ufrag` from the remote SDP: when set, USERNAME must be exactly
  // "<local>:<remote>"; empty accepts any non-empty "<local>:<x>" (a WHIP
  // offer may arrive before we know it). `now` starts the consent clock.
  IceLiteAgent(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag,
               Timestamp now);

  // Handles one datagram that looks like STUN. Outcomes, in checking order:
  //  * does not parse, bad FINGERPRINT, or a response -> drop, `error` set
  //    (a wrong FINGERPRINT means "not STUN", RFC 8489 §7.3);
  //  * an indication (e.g. a Binding keepalive) -> ignored silently;
  //  * a request for another method, or without FINGERPRINT, USERNAME or
  //    MESSAGE-INTEGRITY -> 400 error response;
  //  * wrong USERNAME or integrity -> 401 error response without
  //    MESSAGE-INTEGRITY (we cannot sign for a key the sender does not hold);
  //    it is small, so it amplifies nothing, and tells a misconfigured client
  //    why it fails;
  //  * otherwise a success response: same transaction id, XOR-MAPPED-ADDRESS
  //    of `from`, MESSAGE-INTEGRITY with the local password, FINGERPRINT.
  // Lenient on purpose: PRIORITY and ICE-CONTROLLING are optional (FFmpeg
  // sends neither), unknown attributes of either range are ignored (Chrome
  // adds GOOG-*), and a peer claiming ICE-CONTROLLED gets a normal answer
  // rather than 487, as mediasoup does (libwebrtc bug 7478).
  IceResult handle_stun(ByteSpan datagram, const SocketAddress& from, Timestamp now);

  // ICE restart (RFC 8445 §9, WHIP/WHEP PATCH): new local credentials and
  // the peer's new ufrag. Until a nominating check (USE-CANDIDATE) arrives
  // with the new ones, checks with the credentials in use before keep being
  // answered, so the old path carries the media meanwhile; once it has,
  // they are refused like any wrong credentials. A restart while another is
  // pending replaces the pending credentials; the ones in use stay.
  void restart(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag);
  bool restart_pending() const { return previous_.has_value(); }

  // Media follows the peer: when authenticated media (SRTP) arrives from
  // `from`, an address a valid check came from but not the selected one,
  // it becomes the selected address (a NAT rebinding, or a client that
  // switched paths without nominating again; as mediasoup does). Returns
  // true when the selection changed.
  bool select_if_validated(const SocketAddress& from);
  // An address a valid check came from (one of the last kMaxValidated).
  bool validated(const SocketAddress& from) const;
  static constexpr size_t kMaxValidated = 8;

  std::optional<SocketAddress> selected_address() const { return selected_; }
  bool nominated() const { return nominated_; }
  // The time of the last authenticated check; the creation time before any.
  Timestamp last_valid_check() const { return last_valid_; }
  // True when no authenticated check arrived for at least `timeout` since the
  // later of creation and the last valid check.
  bool consent_expired(Timestamp now, Duration timeout) const {
    return now - last_valid_ >= timeout;
  }

  // The current credentials (the newest, during a restart).
  const std::string& local_ufrag() const { return current_.local_ufrag; }
  const std::string& local_pwd() const { return current_.local_pwd; }
  const std::string& remote_ufrag() const { return current_.remote_ufrag; }

 private:
  struct Credentials {
    std::string local_ufrag, local_pwd, remote_ufrag;
    bool username_ok(std::string_view username) const;
  };
  // Records a valid check's source; returns an address dropped for room.
  std::optional<SocketAddress> remember(const SocketAddress& from, Timestamp now);

  Credentials current_;
  std::optional<Credentials> previous_;                         // in use before a pending restart
  std::vector<std::pair<SocketAddress, Timestamp>> validated_;  // source, last valid check
  std::optional<SocketAddress> selected_;
  bool nominated_ = false;
  Timestamp last_valid_;
};

}  // namespace lss
