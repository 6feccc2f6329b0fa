#include "common/socket_address.hpp"

#include <arpa/inet.h>

namespace lss {

SocketAddress SocketAddress::ipv4(uint32_t host_order_ip, uint16_t port) {
  SocketAddress a;
  a.family = Family::kIPv4;
  a.ip[0] = uint8_t(host_order_ip >> 24);
  a.ip[1] = uint8_t(host_order_ip >> 16);
  a.ip[2] = uint8_t(host_order_ip >> 8);
  a.ip[3] = uint8_t(host_order_ip);
  a.port = port;
  return a;
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view ip, uint16_t port) {
  std::string s(ip);
  SocketAddress a;
  a.port = port;
  if (inet_pton(AF_INET, s.c_str(), a.ip.data()) == 1) {
    a.family = Family::kIPv4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.ip.data()) == 1) {
    a.family = Family::kIPv6;
    return a;
  }
  return std::nullopt;
}

bool SocketAddress::is_loopback() const {
  if (is_ipv4()) return ip[0] == 127;
  static constexpr std::array<uint8_t, 16> kLoop{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (ip == kLoop) return true;
  // IPv4-mapped loopback ::ffff:127.x.x.x
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(ip.data(), kMapped, 12) == 0 && ip[12] == 127;
}

std::string SocketAddress::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_ipv4() ? AF_INET : AF_INET6, ip.data(), buf, sizeof buf);
  return buf;
}

std::string host_port(std::string_view host, uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

std::string SocketAddress::to_string() const {
  std::string s = host_port(ip_string(), port);
  if (link) s += "/link " + std::to_string(link);
  return is_tcp() ? "tcp:" + s : s;
}

}  // namespace lss
