#include "net/link_sockets.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>

#include "net/sockaddr.hpp"

namespace lss::net {

namespace asio = boost::asio;
using udp = asio::ip::udp;

struct LinkSockets::Link {
  explicit Link(asio::io_context& io) : socket(io) {}
  udp::socket socket;
  bool v6 = true;
};

LinkSockets::LinkSockets(asio::io_context& io, Deliver deliver)
    : io_(io), deliver_(std::move(deliver)) {}

LinkSockets::~LinkSockets() {
  for (auto& [id, link] : links_) {
    boost::system::error_code ignored;
    link->socket.close(ignored);
  }
}

std::optional<uint16_t> LinkSockets::open() {
  if (links_.size() >= kMaxLinks) return std::nullopt;
  auto link = std::make_shared<Link>(io_);
  boost::system::error_code ec;
  link->socket.open(udp::v6(), ec);
  if (!ec) link->socket.set_option(asio::ip::v6_only(false), ec);
  if (!ec) link->socket.bind(udp::endpoint(udp::v6(), 0), ec);
  if (ec) {
    boost::system::error_code ignored;
    link->socket.close(ignored);
    ec.clear();
    link->v6 = false;
    link->socket.open(udp::v4(), ec);
    if (!ec) link->socket.bind(udp::endpoint(udp::v4(), 0), ec);
  }
  if (!ec) link->socket.non_blocking(true, ec);
  if (ec) {
    spdlog::warn("cluster link: cannot open a UDP socket: {}", ec.message());
    return std::nullopt;
  }
  // A whole stream arrives here: room for a keyframe's burst.
  boost::system::error_code opt;
  link->socket.set_option(asio::socket_base::receive_buffer_size(2 << 20), opt);
  while (next_id_ == 0 || links_.count(next_id_)) ++next_id_;
  const uint16_t id = next_id_++;
  links_.emplace(id, link);
  wait(id, link);
  return id;
}

void LinkSockets::close(uint16_t id) {
  auto it = links_.find(id);
  if (it == links_.end()) return;
  boost::system::error_code ignored;
  it->second->socket.close(ignored);  // its wait ends with operation_aborted
  links_.erase(it);
}

bool LinkSockets::send(ByteSpan data, const SocketAddress& to) {
  auto it = links_.find(to.link);
  if (it == links_.end()) return false;
  Link& link = *it->second;
  if (!link.v6 && !to.is_ipv4()) return false;
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(to, link.v6, ss);
  const ssize_t n = ::sendto(link.socket.native_handle(), data.data(), data.size(), MSG_DONTWAIT,
                             reinterpret_cast<const sockaddr*>(&ss), len);
  return n == ssize_t(data.size());
}

void LinkSockets::wait(uint16_t id, const std::shared_ptr<Link>& link) {
  // The handler keeps the socket alive; a closed link's wait is aborted.
  link->socket.async_wait(
      udp::socket::wait_read, [this, id, link](const boost::system::error_code& ec) {
        if (ec || !link->socket.is_open()) return;
        std::array<uint8_t, 2048> buf;
        // Bounded, as the shared socket's drain: timers and other work go on.
        for (int i = 0; i < 64 && link->socket.is_open(); ++i) {
          sockaddr_storage ss;
          socklen_t len = sizeof ss;
          const ssize_t n =
              ::recvfrom(link->socket.native_handle(), buf.data(), buf.size(),
                         MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&ss), &len);
          if (n <= 0) break;
          if (size_t(n) > buf.size()) continue;  // larger than any valid packet
          SocketAddress from = from_sockaddr(ss);
          from.link = id;
          deliver_(buf.data(), size_t(n), from, Clock::now());
        }
        if (link->socket.is_open()) wait(id, link);
      });
}

}  // namespace lss::net
