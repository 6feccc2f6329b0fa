#include "net/tcp_media_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace lss::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

SocketAddress to_address(const tcp::endpoint& ep) {
  SocketAddress a;
  a.transport = SocketAddress::Transport::kTcp;
  a.port = ep.port();
  auto ip = ep.address();
  if (ip.is_v6() && ip.to_v6().is_v4_mapped())
    ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  if (ip.is_v4()) {
    a.family = SocketAddress::Family::kIPv4;
    const auto b = ip.to_v4().to_bytes();
    std::memcpy(a.ip.data(), b.data(), 4);
  } else {
    a.family = SocketAddress::Family::kIPv6;
    const auto b = ip.to_v6().to_bytes();
    std::memcpy(a.ip.data(), b.data(), 16);
  }
  return a;
}

}  // namespace

// One accepted connection: reads frames into a fixed buffer and writes from
// a fixed ring, so neither direction allocates per packet.
class TcpMediaServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, SocketAddress remote, const Limits& limits, Timestamp now)
      : socket_(std::move(socket)),
        remote_(remote),
        in_(limits.max_frame),
        ring_(limits.send_ring),
        last_in_(now) {}

  const SocketAddress& remote() const { return remote_; }
  Timestamp last_in() const { return last_in_; }
  Timestamp full_since() const { return full_since_; }

  template <class OnFrame, class OnClose>
  void read(OnFrame on_frame, OnClose on_close) {
    auto self = shared_from_this();
    asio::async_read(socket_, asio::buffer(header_),
                     [this, self, on_frame, on_close](boost::system::error_code ec, size_t) {
                       if (ec) return on_close(false);
                       const size_t len = load_be16(header_.data());
                       if (len == 0 || len > in_.size()) return on_close(true);
                       asio::async_read(socket_, asio::buffer(in_.data(), len),
                                        [this, self, on_frame, on_close, len](
                                            boost::system::error_code ec2, size_t) {
                                          if (ec2) return on_close(false);
                                          last_in_ = Clock::now();
                                          on_frame(in_.data(), len, last_in_);
                                          read(on_frame, on_close);
                                        });
                     });
  }

  // Queues a frame (length prefix + data); false when the ring is full.
  bool queue(ByteSpan data) {
    const size_t need = data.size() + 2;
    if (need > ring_.size() - used_) {
      if (full_since_ == Timestamp{}) full_since_ = Clock::now();
      return false;
    }
    uint8_t len[2];
    store_be16(len, uint16_t(data.size()));
    put(len, 2);
    put(data.data(), data.size());
    if (!writing_) write();
    return true;
  }

  void close() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  void put(const uint8_t* p, size_t n) {
    const size_t tail = (head_ + used_) % ring_.size();
    const size_t first = std::min(n, ring_.size() - tail);
    std::memcpy(ring_.data() + tail, p, first);
    std::memcpy(ring_.data(), p + first, n - first);
    used_ += n;
  }

  void write() {
    // The contiguous part of what is queued; the rest follows.
    const size_t n = std::min(used_, ring_.size() - head_);
    writing_ = true;
    auto self = shared_from_this();
    socket_.async_write_some(asio::buffer(ring_.data() + head_, n),
                             [this, self](boost::system::error_code ec, size_t written) {
                               writing_ = false;
                               if (ec) return;  // the read side notices and closes
                               head_ = (head_ + written) % ring_.size();
                               used_ -= written;
                               // Caught up only once half the ring is free
                               // again: trickling out does not count.
                               if (used_ < ring_.size() / 2) full_since_ = Timestamp{};
                               if (used_) write();
                             });
  }

  tcp::socket socket_;
  SocketAddress remote_;
  std::array<uint8_t, 2> header_{};
  std::vector<uint8_t> in_;
  std::vector<uint8_t> ring_;
  size_t head_ = 0, used_ = 0;
  bool writing_ = false;
  Timestamp last_in_;
  Timestamp full_since_{};
};

TcpMediaServer::TcpMediaServer(asio::io_context& io, uint16_t port, Limits limits)
    : io_(io), port_(port), limits_(limits), acceptor_(io), sweep_timer_(io) {}

TcpMediaServer::~TcpMediaServer() {
  stop();
}

Status TcpMediaServer::open() {
  boost::system::error_code ec;
  // Dual-stack where the kernel has IPv6; plain IPv4 where it does not.
  acceptor_.open(tcp::v6(), ec);
  if (!ec) acceptor_.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(tcp::endpoint(tcp::v6(), port_), ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    ec.clear();
    acceptor_.open(tcp::v4(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(tcp::endpoint(tcp::v4(), port_), ec);
  }
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error("cannot listen on TCP port " + std::to_string(port_) + ": " + ec.message());
  port_ = acceptor_.local_endpoint(ec).port();
  return {};
}

void TcpMediaServer::start(FrameHandler on_frame) {
  on_frame_ = std::move(on_frame);
  accept();
  sweep();
}

void TcpMediaServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      boost::system::error_code e2;
      const auto ep = socket.remote_endpoint(e2);
      if (e2 || connections_.size() >= limits_.max_connections) {
        ++counters_.refused;
        socket.close(e2);
      } else {
        socket.set_option(tcp::no_delay(true), e2);  // latency over throughput
        const SocketAddress remote = to_address(ep);
        auto conn = std::make_shared<Connection>(std::move(socket), remote, limits_, Clock::now());
        if (auto old = connections_.find(remote); old != connections_.end()) old->second->close();
        connections_[remote] = conn;
        ++counters_.accepted;
        spdlog::debug("ice-tcp: connection from {}", remote.to_string());
        conn->read(
            [this, remote](uint8_t* data, size_t size, Timestamp now) {
              ++counters_.frames_in;
              if (on_frame_) on_frame_(data, size, remote, now);
            },
            [this, remote, weak = std::weak_ptr<Connection>(conn)](bool oversize) {
              auto c = weak.lock();
              auto it = connections_.find(remote);
              if (c && it != connections_.end() && it->second == c) {
                close(remote, oversize ? &Counters::closed_oversize : &Counters::closed);
              }
            });
      }
    }
    accept();
  });
}

void TcpMediaServer::sweep() {
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    const Timestamp now = Clock::now();
    std::vector<std::pair<SocketAddress, uint64_t Counters::*>> doomed;
    for (auto& [remote, c] : connections_) {
      if (c->full_since() != Timestamp{} && now - c->full_since() > limits_.stuck_after) {
        doomed.emplace_back(remote, &Counters::closed_stuck);
      } else if (now - c->last_in() > limits_.idle_after) {
        doomed.emplace_back(remote, &Counters::closed_idle);
      }
    }
    for (auto& [remote, why] : doomed) close(remote, why);
    sweep();
  });
}

void TcpMediaServer::close(const SocketAddress& remote, uint64_t Counters::*why) {
  auto it = connections_.find(remote);
  if (it == connections_.end()) return;
  spdlog::debug("ice-tcp: connection from {} closed", remote.to_string());
  it->second->close();
  connections_.erase(it);
  ++(counters_.*why);
}

bool TcpMediaServer::send(ByteSpan data, const SocketAddress& to) {
  auto it = connections_.find(to);
  if (it == connections_.end() || data.size() > 0xffff) return false;
  if (!it->second->queue(data)) {
    ++counters_.dropped;
    return false;
  }
  ++counters_.frames_out;
  return true;
}

void TcpMediaServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  sweep_timer_.cancel();
  for (auto& [remote, c] : connections_) c->close();
  connections_.clear();
}

}  // namespace lss::net
