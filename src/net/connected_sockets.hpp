#pragma once
// SEND_PATH=connected: a media worker's UDP socket per destination, each
// connected to its viewer (or publisher), so the kernel keeps that
// destination's route and neighbour on the socket instead of looking them
// up for every datagram as the shared socket's sendmmsg does.
//
// Each one sets SO_REUSEPORT (as the worker's shared socket does in this
// mode) and binds the worker's own port, on the local address the worker
// answers that peer from where it knows it (else any), before it connects:
// the peer keeps seeing one address and port. The kernel then delivers what
// that peer sends to the connected socket rather than the shared one, so
// the worker reads every connected socket too, through the same receive
// code (`on_readable` below). A socket is made on the first send to its
// destination and closed once it has sent nothing for kIdleTimeout; past
// kMaxSockets, for a destination whose socket could not be made (once
// logged), and while a peer talks to another of our addresses than its
// socket is bound to, the worker sends through the shared socket (which
// answers from the address each datagram names). Worker thread only.
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/socket_address.hpp"
#include "common/time.hpp"

namespace lss::net {

class ConnectedSockets {
 public:
  // Runs when connected socket `fd` is readable: the worker drains it as it
  // drains its shared socket. May send (and so open sockets), never close.
  using Readable = std::function<void(int fd)>;

  static constexpr size_t kMaxSockets = 4096;
  static constexpr Duration kIdleTimeout = std::chrono::seconds(30);
  // find(): no socket for that destination yet.
  static constexpr int kAbsent = -2;

  // `v6`: the worker's socket is dual-stack IPv6 (IPv4 peers v4-mapped);
  // `port`: its local port.
  ConnectedSockets(boost::asio::io_context& io, unsigned worker, bool v6, uint16_t port,
                   Readable on_readable);
  ~ConnectedSockets();
  ConnectedSockets(const ConnectedSockets&) = delete;
  ConnectedSockets& operator=(const ConnectedSockets&) = delete;

  // The socket connected to `to`, noted as used `now`: its descriptor; -1
  // when that destination goes through the shared socket, or when the
  // socket is bound to another local address than `source` (the peer now
  // talks to another of ours: the shared socket answers from that one, and
  // the socket, no longer used, idles out); kAbsent when there is none yet
  // (then open()).
  int find(const SocketAddress& to, const uint8_t* source, Timestamp now);
  // Makes the socket connected to `to` from `source` (16 bytes, IPv6 or
  // v4-mapped; null: the kernel chooses) and the worker's port; its
  // descriptor, or -1 (over kMaxSockets, or the system refused: the shared
  // socket then).
  int open(const SocketAddress& to, const uint8_t* source, Timestamp now);
  // Closes the sockets that have sent nothing for the idle timeout, after
  // reading what they hold. Cheap when called often: it looks at most once
  // a second (or once per timeout, if shorter).
  void close_idle(Timestamp now);
  // Tests shorten it.
  void set_idle_timeout(Duration timeout) { idle_timeout_ = timeout; }
  // Connected sockets open now.
  size_t size() const { return open_count_; }

 private:
  struct Entry;
  void wait(const std::shared_ptr<Entry>& e);

  boost::asio::io_context& io_;
  unsigned worker_;
  bool v6_;
  uint16_t port_;
  Readable on_readable_;
  Duration idle_timeout_ = kIdleTimeout;
  Timestamp last_sweep_{};
  bool failure_logged_ = false;
  size_t open_count_ = 0;
  std::unordered_map<SocketAddress, std::shared_ptr<Entry>, SocketAddressHash> sockets_;
  std::vector<std::shared_ptr<Entry>> closing_;  // reused by close_idle()
};

}  // namespace lss::net
