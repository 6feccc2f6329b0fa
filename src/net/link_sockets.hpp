#pragma once
// A media worker's node-to-node link sockets: one UDP socket, on an
// ephemeral port, per stream this node pulls from another node (cluster
// relay). The worker's shared socket cannot carry them: two streams pulled
// from one origin worker would share one 5-tuple, and neither end could
// tell their DTLS and SRTP apart. Datagrams arriving on link N are handed
// on with SocketAddress::link = N, and sends to such an address leave
// through link N, so the engine demultiplexes them as any other peer.
// Worker thread only.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "common/bytes.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"

namespace lss::net {

class LinkSockets {
 public:
  // Runs for each datagram received on a link; `data` is writable and valid
  // until it returns.
  using Deliver =
      std::function<void(uint8_t* data, size_t size, const SocketAddress& from, Timestamp now)>;

  LinkSockets(boost::asio::io_context& io, Deliver deliver);
  ~LinkSockets();

  // A new link socket (IPv6 dual-stack, else IPv4) and its id (never 0);
  // nullopt when the system refuses one (out of descriptors).
  std::optional<uint16_t> open();
  void close(uint16_t id);
  // Sends through link `to.link`; false when it is not open or the send failed.
  bool send(ByteSpan data, const SocketAddress& to);
  size_t size() const { return links_.size(); }

  static constexpr size_t kMaxLinks = 4096;

 private:
  struct Link;
  void wait(uint16_t id, const std::shared_ptr<Link>& link);

  boost::asio::io_context& io_;
  Deliver deliver_;
  std::map<uint16_t, std::shared_ptr<Link>> links_;
  uint16_t next_id_ = 1;
};

}  // namespace lss::net
