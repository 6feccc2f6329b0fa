#include "net/connected_sockets.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>

#include "net/sockaddr.hpp"

namespace lss::net {
namespace asio = boost::asio;

struct ConnectedSockets::Entry {
  explicit Entry(asio::io_context& io) : socket(io) {}
  asio::posix::stream_descriptor socket;  // not open: this destination uses the shared socket
  Timestamp last_send{};
  bool has_source = false;  // bound to `source`, else to any address
  std::array<uint8_t, 16> source{};
};

namespace {

// A non-blocking UDP socket with SO_REUSEPORT, bound to `port` on `source`
// (null: any address), connected to `to`; -1 with errno and the failed
// step in `step`.
int connected_socket(bool v6, uint16_t port, const SocketAddress& to, const uint8_t* source,
                     const char*& step) {
  step = "socket";
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const auto fail = [fd] {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  };
  const int one = 1, zero = 0;
  step = "SO_REUSEPORT";
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return fail();
  step = "IPV6_V6ONLY";
  if (v6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) return fail();
  // As the shared socket: destination addresses of what arrives, and room
  // for bursts (both capped by the system's limits).
  ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  if (v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  const int buffer = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  sockaddr_storage local{};
  socklen_t local_len;
  if (v6) {
    auto& s6 = reinterpret_cast<sockaddr_in6&>(local);
    s6.sin6_family = AF_INET6;
    s6.sin6_port = htons(port);
    if (source) std::memcpy(&s6.sin6_addr, source, 16);  // IPv6 or v4-mapped
    local_len = sizeof s6;
  } else {
    auto& s4 = reinterpret_cast<sockaddr_in&>(local);
    s4.sin_family = AF_INET;
    s4.sin_port = htons(port);
    if (source) std::memcpy(&s4.sin_addr, source + 12, 4);  // v4-mapped
    local_len = sizeof s4;
  }
  step = "bind";
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), local_len) != 0) return fail();
  sockaddr_storage remote;
  const socklen_t remote_len = to_sockaddr(to, v6, remote);
  step = "connect";
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&remote), remote_len) != 0) return fail();
  return fd;
}

}  // namespace

ConnectedSockets::ConnectedSockets(asio::io_context& io, unsigned worker, bool v6, uint16_t port,
                                   Readable on_readable)
    : io_(io), worker_(worker), v6_(v6), port_(port), on_readable_(std::move(on_readable)) {}

ConnectedSockets::~ConnectedSockets() {
  for (auto& [to, e] : sockets_) {
    boost::system::error_code ignored;
    e->socket.close(ignored);
  }
}

int ConnectedSockets::find(const SocketAddress& to, const uint8_t* source, Timestamp now) {
  auto it = sockets_.find(to);
  if (it == sockets_.end()) return kAbsent;
  Entry& e = *it->second;
  // Bound to another address than the peer now talks to: the shared socket
  // answers, and this one, unused, idles out (a new one then takes over).
  if (e.has_source != (source != nullptr)) return -1;
  if (source && std::memcmp(e.source.data(), source, 16) != 0) return -1;
  e.last_send = now;
  return e.socket.is_open() ? e.socket.native_handle() : -1;
}

int ConnectedSockets::open(const SocketAddress& to, const uint8_t* source, Timestamp now) {
  if (sockets_.size() >= kMaxSockets) return -1;
  auto e = std::make_shared<Entry>(io_);
  e->last_send = now;
  e->has_source = source != nullptr;
  if (source) std::memcpy(e->source.data(), source, 16);
  const char* step = "";
  const int fd = connected_socket(v6_, port_, to, source, step);
  boost::system::error_code ec;
  if (fd >= 0) e->socket.assign(fd, ec);
  if (fd < 0 || ec) {
    const std::string why = fd < 0 ? std::string(step) + ": " + std::strerror(errno) : ec.message();
    if (fd >= 0) ::close(fd);
    if (!failure_logged_) {
      failure_logged_ = true;
      std::string from = "any address";
      if (source) {
        SocketAddress local;
        std::memcpy(local.ip.data(), source, 16);
        local.family = SocketAddress::Family::kIPv6;
        from = local.ip_string();
      }
      spdlog::warn(
          "media worker {}: cannot make a UDP socket from {} connected to {} ({}); such "
          "destinations go through the shared socket",
          worker_, from, to.to_string(), why);
    }
    // Not tried again until it has been idle as long as a socket would be.
    sockets_.emplace(to, std::move(e));
    return -1;
  }
  sockets_.emplace(to, e);
  ++open_count_;
  wait(e);
  return fd;
}

void ConnectedSockets::wait(const std::shared_ptr<Entry>& e) {
  // The handler keeps the entry alive; a closed socket's wait is aborted.
  e->socket.async_wait(asio::posix::descriptor_base::wait_read,
                       [this, e](const boost::system::error_code& ec) {
                         if (ec || !e->socket.is_open()) return;
                         on_readable_(e->socket.native_handle());
                         if (e->socket.is_open()) wait(e);
                       });
}

void ConnectedSockets::close_idle(Timestamp now) {
  const Duration every = std::min<Duration>(idle_timeout_, std::chrono::seconds(1));
  if (now - last_sweep_ < every) return;
  last_sweep_ = now;
  for (auto it = sockets_.begin(); it != sockets_.end();) {
    if (now - it->second->last_send >= idle_timeout_) {
      closing_.push_back(std::move(it->second));
      it = sockets_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& e : closing_) {
    if (!e->socket.is_open()) continue;
    // What the peer sent since the last read goes the usual way first; from
    // now on its datagrams reach the shared socket.
    on_readable_(e->socket.native_handle());
    boost::system::error_code ignored;
    e->socket.close(ignored);  // its wait ends with operation_aborted
    --open_count_;
  }
  closing_.clear();
}

}  // namespace lss::net
