#pragma once
// A one-shot HTTP listener on loopback that records the request it gets and
// answers with `reply`: lets tests see exactly what a client library sent.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

namespace lss::testing {

class CapturingServer {
 public:
  explicit CapturingServer(
      std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
      : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 1);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      const int c = accept(fd_, nullptr, nullptr);
      char buf[8192];
      const ssize_t n = read(c, buf, sizeof buf);
      if (n > 0) request_.assign(buf, size_t(n));
      (void)!write(c, reply_.data(), reply_.size());
      close(c);
    });
  }
  ~CapturingServer() {
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  std::string request() {
    thread_.join();
    return request_;
  }

 private:
  int fd_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string request_;
  std::string reply_;
};

}  // namespace lss::testing
