#pragma once
// The machine's own addresses, used as ICE host candidates when PUBLIC_IP is
// not set (or is only `auto`).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/socket_address.hpp"

namespace lss::net {

// Non-loopback IPv4 addresses of interfaces that are up, then 127.0.0.1,
// then the IPv6 addresses clients can reach (announceable_ipv6): global
// unicast and unique local, of interfaces that are up, neither temporary
// (privacy), deprecated nor failed duplicate address detection.
std::vector<std::string> host_candidate_addresses();

// One address of an interface, as getifaddrs() and /proc/net/if_inet6 tell.
struct InterfaceAddress {
  SocketAddress address;            // port unused
  bool up = false;                  // IFF_UP
  bool loopback_interface = false;  // IFF_LOOPBACK
  unsigned ipv6_flags = 0;          // IFA_F_* of /proc/net/if_inet6 (0: unknown)
};

// IFA_F_* bits that keep an IPv6 address out of the candidates.
inline constexpr unsigned kIfaTemporary = 0x01, kIfaDadFailed = 0x08, kIfaDeprecated = 0x20;

// An IPv6 address worth announcing by default: global unicast (2000::/3)
// or unique local (fc00::/7). Not ::1 (Chromium never gathers it; name it
// in PUBLIC_IP to have it), link-local (needs a zone), multicast, v4-mapped
// or the deprecated site-local range.
bool announceable_ipv6(const SocketAddress& a);

// The candidate list from an interface list, in the order above, without
// duplicates. Sans-I/O: host_candidate_addresses() feeds it the real one.
std::vector<std::string> order_host_candidates(const std::vector<InterfaceAddress>& addresses);

// One line of /proc/net/if_inet6 ("<32 hex> <ifindex> <plen> <scope> <flags> <name>"):
// the address and its IFA_F_* flags; nullopt for a malformed line.
std::optional<std::pair<SocketAddress, unsigned>> parse_if_inet6_line(std::string_view line);

}  // namespace lss::net
