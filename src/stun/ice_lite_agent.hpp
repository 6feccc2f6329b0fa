#pragma once
// The ICE-lite side of one peer (RFC 8445 §2.5): answers the full agent's
// Binding requests, tracks the selected address (latest nominated, else the
// first valid), and consent freshness (RFC 7675). It never sends checks.
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"

namespace lss {

struct IceResult {
  Bytes response;  // to send back to `from`; empty: nothing to send
  bool authenticated = false;
  bool nominated = false;
  std::string error;  // why a request was refused or dropped (for logs)
};

class IceLiteAgent {
 public:
  // `remote_ufrag` from the remote SDP; empty accepts any "<local>:<x>".
  IceLiteAgent(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag,
               Timestamp now);

  IceResult handle_stun(ByteSpan datagram, const SocketAddress& from, Timestamp now);

  std::optional<SocketAddress> selected_address() const { return selected_; }
  bool nominated() const { return nominated_; }
  Timestamp last_valid_check() const { return last_valid_; }
  // True when no authenticated check arrived for `timeout` (counted from
  // creation until the first one).
  bool consent_expired(Timestamp now, Duration timeout) const {
    return now - last_valid_ > timeout;
  }

  const std::string& local_ufrag() const { return local_ufrag_; }
  const std::string& local_pwd() const { return local_pwd_; }

 private:
  std::string local_ufrag_, local_pwd_, remote_ufrag_;
  std::optional<SocketAddress> selected_;
  bool nominated_ = false;
  Timestamp last_valid_;
};

}  // namespace lss
