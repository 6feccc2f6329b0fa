#pragma once
// A UDP/IP (or, for ICE-TCP, TCP/IP) endpoint as plain bytes, so protocol
// layers (STUN's XOR-MAPPED-ADDRESS, peer demultiplexing) need no socket
// library. The transport is part of the identity: a peer reached over TCP is
// a different address from the same ip:port over UDP.
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace lss {

// "host:port", an IPv6 literal in brackets ("[::1]:5"), as URLs and
// log lines write an endpoint; `host` is a name or a bare literal.
std::string host_port(std::string_view host, uint16_t port);

struct SocketAddress {
  enum class Family : uint8_t { kIPv4 = 4, kIPv6 = 6 };
  enum class Transport : uint8_t { kUdp, kTcp };
  Family family = Family::kIPv4;
  Transport transport = Transport::kUdp;
  std::array<uint8_t, 16> ip{};  // IPv4 uses the first 4 bytes, network order
  uint16_t port = 0;             // host order
  // The node-to-node link socket a datagram came through or goes out of
  // (see net::MediaWorker::open_link); 0: the worker's shared socket. Part
  // of the identity: two links to one remote address are two peers.
  uint16_t link = 0;

  static SocketAddress ipv4(uint32_t host_order_ip, uint16_t port);
  // "1.2.3.4" or "::1" (no brackets, no port); nullopt when not a literal.
  static std::optional<SocketAddress> parse(std::string_view ip, uint16_t port);

  bool is_ipv4() const { return family == Family::kIPv4; }
  bool is_tcp() const { return transport == Transport::kTcp; }
  bool is_loopback() const;
  std::string ip_string() const;
  std::string to_string()
      const;  // "1.2.3.4:5" or "[::1]:5" (TCP: "tcp:" first; link: "/link N" after)

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) {
    const size_t n = a.is_ipv4() ? 4 : 16;
    return a.family == b.family && a.transport == b.transport && a.port == b.port &&
           a.link == b.link && std::memcmp(a.ip.data(), b.ip.data(), n) == 0;
  }
};

struct SocketAddressHash {
  size_t operator()(const SocketAddress& a) const noexcept {
    uint64_t h = 1469598103934665603ull;
    const size_t n = a.is_ipv4() ? 4 : 16;
    for (size_t i = 0; i < n; ++i) h = (h ^ a.ip[i]) * 1099511628211ull;
    h = (h ^ a.port) * 1099511628211ull;
    h = (h ^ uint8_t(a.transport)) * 1099511628211ull;
    h = (h ^ a.link) * 1099511628211ull;
    return size_t(h);
  }
};

}  // namespace lss
