#include "net/host_addresses.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>

namespace lss::net {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// IFA_F_* flags of every IPv6 address, keyed by its 16 bytes; empty where
// /proc/net/if_inet6 cannot be read (then no address is left out for them).
std::map<std::array<uint8_t, 16>, unsigned> ipv6_flags() {
  std::map<std::array<uint8_t, 16>, unsigned> out;
  std::ifstream in("/proc/net/if_inet6");
  std::string line;
  while (std::getline(in, line)) {
    if (auto parsed = parse_if_inet6_line(line)) out[parsed->first.ip] |= parsed->second;
  }
  return out;
}

}  // namespace

bool announceable_ipv6(const SocketAddress& a) {
  if (a.is_ipv4()) return false;
  if ((a.ip[0] & 0xE0) == 0x20) return true;  // 2000::/3 global unicast
  if ((a.ip[0] & 0xFE) == 0xFC) return true;  // fc00::/7 unique local
  return false;  // ::1, ::, ::ffff:0:0/96, fe80::/10, fec0::/10, ff00::/8, ...
}

std::optional<std::pair<SocketAddress, unsigned>> parse_if_inet6_line(std::string_view line) {
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  if (line.size() < 32) return std::nullopt;
  SocketAddress a;
  a.family = SocketAddress::Family::kIPv6;
  for (size_t i = 0; i < 16; ++i) {
    const int hi = hex_digit(line[2 * i]), lo = hex_digit(line[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    a.ip[i] = uint8_t(hi << 4 | lo);
  }
  // Then index, prefix length, scope and flags, each a hex field.
  std::string_view rest = line.substr(32);
  unsigned fields[4] = {};
  for (unsigned& f : fields) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty() || hex_digit(rest.front()) < 0) return std::nullopt;
    f = 0;
    while (!rest.empty() && hex_digit(rest.front()) >= 0) {
      f = f * 16 + unsigned(hex_digit(rest.front()));
      if (f > 0xFFFFFFF) return std::nullopt;
      rest.remove_prefix(1);
    }
  }
  return std::make_pair(a, fields[3]);
}

std::vector<std::string> order_host_candidates(const std::vector<InterfaceAddress>& addresses) {
  std::vector<std::string> v4, v6;
  auto add = [](std::vector<std::string>& list, const std::string& ip) {
    if (std::find(list.begin(), list.end(), ip) == list.end()) list.push_back(ip);
  };
  for (const auto& i : addresses) {
    if (!i.up) continue;
    if (i.address.is_ipv4()) {
      if (!i.loopback_interface) add(v4, i.address.ip_string());
      continue;
    }
    if (!announceable_ipv6(i.address)) continue;
    if (i.ipv6_flags & (kIfaTemporary | kIfaDadFailed | kIfaDeprecated)) continue;
    add(v6, i.address.ip_string());
  }
  // Reachable addresses first: some clients (FFmpeg) only try the first one.
  add(v4, "127.0.0.1");
  for (auto& ip : v6) v4.push_back(std::move(ip));
  return v4;
}

std::vector<std::string> host_candidate_addresses() {
  std::vector<InterfaceAddress> found;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    const auto flags = ipv6_flags();
    for (ifaddrs* i = list; i; i = i->ifa_next) {
      if (!i->ifa_addr) continue;
      InterfaceAddress a;
      a.up = (i->ifa_flags & IFF_UP) != 0;
      a.loopback_interface = (i->ifa_flags & IFF_LOOPBACK) != 0;
      if (i->ifa_addr->sa_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
        a.address.family = SocketAddress::Family::kIPv4;
        std::memcpy(a.address.ip.data(), &sin->sin_addr, 4);
      } else if (i->ifa_addr->sa_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
        a.address.family = SocketAddress::Family::kIPv6;
        std::memcpy(a.address.ip.data(), &sin6->sin6_addr, 16);
        if (auto f = flags.find(a.address.ip); f != flags.end()) a.ipv6_flags = f->second;
      } else {
        continue;
      }
      found.push_back(a);
    }
    freeifaddrs(list);
  }
  return order_host_candidates(found);
}

}  // namespace lss::net
