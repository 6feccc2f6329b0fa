#pragma once
// A UDP socket on 127.0.0.1 for the media worker tests to receive what a
// worker sends (and to send to it): a 2 s receive timeout, a 4 MiB buffer.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "common/socket_address.hpp"

namespace lss::net::testing {

struct Receiver {
  Receiver() {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  }
  ~Receiver() { close(fd); }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  // The next datagram, empty after 2 s without one.
  std::vector<uint8_t> next() {
    std::vector<uint8_t> buf(4096);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n =
        recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    buf.resize(n > 0 ? size_t(n) : 0);
    if (n > 0) {
      last_from_port = ntohs(from.sin_port);
      last_from_ip = ntohl(from.sin_addr.s_addr);
    }
    return buf;
  }
  // Sends `data` to the worker's port on loopback (127.0.0.1, or `ip`)
  // from this receiver's port.
  void send_to(uint16_t worker_port, const std::vector<uint8_t>& data,
               uint32_t ip = INADDR_LOOPBACK) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(ip);
    to.sin_port = htons(worker_port);
    sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  SocketAddress address() const { return SocketAddress::ipv4(0x7f000001, port); }
  int fd;
  uint16_t port;
  uint16_t last_from_port = 0;  // where the last datagram came from
  uint32_t last_from_ip = 0;
};

}  // namespace lss::net::testing
