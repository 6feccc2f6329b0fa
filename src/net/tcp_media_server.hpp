#pragma once
// ICE-TCP for one media worker (RFC 6544, passive candidates only): a TCP
// listener whose connections carry RFC 4571 frames (a 2-byte length, then
// one STUN, DTLS, RTP or RTCP packet). Each frame reaches the worker's
// datagram handler like a UDP datagram, from the connection's address
// marked as TCP, so the ICE-lite agent, DTLS and SRTP do not know the
// difference. Sends never block the worker: each connection has a bounded
// send ring; a frame that does not fit is dropped (the viewer recovers with
// NACK/PLI) and a connection that stays full is closed. Runs on the worker's
// io_context, single-threaded.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"

namespace lss::net {

class TcpMediaServer {
 public:
  using FrameHandler =
      std::function<void(uint8_t* data, size_t size, const SocketAddress& from, Timestamp now)>;

  struct Limits {
    size_t max_frame = 4096;                         // larger frames close the connection
    size_t send_ring = 256 * 1024;                   // queued bytes per connection
    size_t max_connections = 4096;                   // per worker
    Duration stuck_after = std::chrono::seconds(5);  // full this long: closed
    Duration idle_after = std::chrono::seconds(30);  // nothing received: closed
  };

  TcpMediaServer(boost::asio::io_context& io, uint16_t port, Limits limits);
  TcpMediaServer(boost::asio::io_context& io, uint16_t port) : TcpMediaServer(io, port, Limits{}) {}
  ~TcpMediaServer();

  // Binds (dual-stack where possible) and listens on `port` (0: any).
  Status open();
  uint16_t port() const { return port_; }
  // Starts accepting; `on_frame` runs for every frame received.
  void start(FrameHandler on_frame);
  // Queues one frame to the connection `to` (a TCP address); false when
  // there is no such connection or its ring is full (the frame is dropped).
  bool send(ByteSpan data, const SocketAddress& to);
  void stop();

  struct Counters {
    uint64_t accepted = 0, closed = 0, frames_in = 0, frames_out = 0, dropped = 0;
    uint64_t closed_stuck = 0, closed_idle = 0, closed_oversize = 0, refused = 0;
  };
  const Counters& counters() const { return counters_; }
  size_t connections() const { return connections_.size(); }

 private:
  class Connection;
  void accept();
  void sweep();
  void close(const SocketAddress& remote, uint64_t Counters::*why);

  boost::asio::io_context& io_;
  uint16_t port_;
  Limits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer sweep_timer_;
  FrameHandler on_frame_;
  std::unordered_map<SocketAddress, std::shared_ptr<Connection>, SocketAddressHash> connections_;
  Counters counters_;
  bool stopped_ = false;
};

}  // namespace lss::net
