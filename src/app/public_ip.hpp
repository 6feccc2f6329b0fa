#pragma once
// PUBLIC_IP and STUN_SERVERS as the server takes them (sans-I/O, so the
// rules are unit-tested): the addresses put in ICE candidates, `auto` for
// "also the address a STUN server sees this host as", and the STUN servers
// asked for it. The asking itself is in stun_discovery.hpp.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lss {

struct Config;

struct PublicIpSetting {
  // Literal addresses in canonical text form (inet_ntop: "2001:db8::1",
  // never brackets), duplicates dropped, in the order given.
  std::vector<std::string> addresses;
  bool auto_discover = false;  // an entry was `auto`
};

// PUBLIC_IP's comma-separated entries: IPv4 or IPv6 literals (an IPv6 one
// may come in brackets, which are dropped: SDP candidates take none), and
// at most one `auto`. Errors name PUBLIC_IP and the entry.
Result<PublicIpSetting> parse_public_ip(const std::vector<std::string>& entries);

struct StunServerUri {
  std::string uri;   // as configured
  std::string host;  // name or address literal, without brackets
  uint16_t port = 3478;
};

// "stun:host[:port]" (RFC 7064; IPv6 literals in brackets). stuns: (STUN
// over TLS) and turn: are refused: PUBLIC_IP=auto sends plain STUN over
// the media socket.
Result<StunServerUri> parse_stun_uri(std::string_view uri);

// The STUN servers PUBLIC_IP=auto asks, in order: STUN_SERVERS when set,
// else the stun: entries of ICE_SERVERS.
std::vector<std::string> auto_stun_servers(const Config& config);

// STUN_SERVERS entries must be stun: URIs; PUBLIC_IP=auto needs at least
// one server from STUN_SERVERS or ICE_SERVERS. Errors name the variable.
Status validate_stun_servers(const Config& config);

// The candidate addresses with the STUN-mapped `mapped` first (the one
// clients elsewhere can reach), the others after it in their order.
std::vector<std::string> with_mapped_address(const std::string& mapped,
                                             const std::vector<std::string>& addresses);

}  // namespace lss
