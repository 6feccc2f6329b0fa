#pragma once
// SocketAddress to and from the kernel's sockaddr, as the media sockets
// (dual-stack IPv6 where the kernel has it, else IPv4) use them. Inline:
// the media worker converts once per datagram.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "common/socket_address.hpp"

namespace lss::net {

// A received source address; v4-mapped IPv6 is presented as IPv4.
inline SocketAddress from_sockaddr(const sockaddr_storage& ss) {
  SocketAddress a;
  if (ss.ss_family == AF_INET) {
    const auto& s4 = reinterpret_cast<const sockaddr_in&>(ss);
    std::memcpy(a.ip.data(), &s4.sin_addr, 4);
    a.port = ntohs(s4.sin_port);
    a.family = SocketAddress::Family::kIPv4;
    return a;
  }
  const auto& s6 = reinterpret_cast<const sockaddr_in6&>(ss);
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  const auto* b = reinterpret_cast<const uint8_t*>(&s6.sin6_addr);
  if (std::memcmp(b, kMapped, 12) == 0) {
    std::memcpy(a.ip.data(), b + 12, 4);
    a.family = SocketAddress::Family::kIPv4;
  } else {
    std::memcpy(a.ip.data(), b, 16);
    a.family = SocketAddress::Family::kIPv6;
  }
  a.port = ntohs(s6.sin6_port);
  return a;
}

// `a` as a socket of that family addresses it: on a dual-stack IPv6 socket
// an IPv4 peer is v4-mapped. An IPv6 `a` needs `v6_socket` (callers check).
inline socklen_t to_sockaddr(const SocketAddress& a, bool v6_socket, sockaddr_storage& ss) {
  if (!v6_socket) {
    auto& s4 = reinterpret_cast<sockaddr_in&>(ss);
    s4 = sockaddr_in{};
    s4.sin_family = AF_INET;
    s4.sin_port = htons(a.port);
    std::memcpy(&s4.sin_addr, a.ip.data(), 4);
    return sizeof s4;
  }
  auto& s6 = reinterpret_cast<sockaddr_in6&>(ss);
  s6 = sockaddr_in6{};
  s6.sin6_family = AF_INET6;
  s6.sin6_port = htons(a.port);
  auto* b = reinterpret_cast<uint8_t*>(&s6.sin6_addr);
  if (a.is_ipv4()) {
    b[10] = b[11] = 0xff;
    std::memcpy(b + 12, a.ip.data(), 4);
  } else {
    std::memcpy(b, a.ip.data(), 16);
  }
  return sizeof s6;
}

}  // namespace lss::net
