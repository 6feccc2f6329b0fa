#pragma once
// One media worker: a thread with its own asio::io_context and UDP socket.
// Datagrams are drained in batches with recvmmsg once the socket is readable,
// and handed to the worker's packet handler. Sends made while a batch is
// being handled (and during ticks) are gathered, up to DatagramBatch::kSlots,
// and go out together with sendmmsg; with UDP GSO each viewer's run of
// same-size datagrams is one message (datagram_batch.hpp). Other sends go
// out at once. SEND_PATH=io_uring submits those messages through an
// io_uring instead of sendmmsg (uring_sender.hpp); SEND_PATH=connected
// sends each destination's through a UDP socket connected to it
// (connected_sockets.hpp), and reads those sockets too; SEND_PATH=xdp
// transmits what it can as AF_XDP frames on XDP_DEVICE (xdp_sender.hpp),
// the rest with sendmmsg. Everything a peer
// does happens on its worker's thread, so per-packet paths take no locks.
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"
#include "net/datagram_batch.hpp"
#include "net/latency_histogram.hpp"
#include "net/link_sockets.hpp"
#include "net/paced_sends.hpp"
#include "net/tcp_media_server.hpp"

namespace lss::net {

class ConnectedSockets;
class UringSender;
class XdpSender;

// How a worker hands its messages to the kernel (SEND_PATH): sendmmsg on
// the shared socket, an io_uring SENDMSG per message (io_uring), or
// sendmmsg on a socket connected to each destination (connected), or
// AF_XDP frames on one device where the destination allows, sendmmsg for
// the rest (xdp).
enum class SendVia { kSendmmsg, kUring, kConnected, kXdp };

class MediaWorker {
 public:
  // Called on the worker thread for each datagram; `data` is writable (SRTP
  // decrypts in place) and valid until the call returns.
  using DatagramHandler =
      std::function<void(uint8_t* data, size_t size, const SocketAddress& from, Timestamp now)>;
  using TickHandler = std::function<void(Timestamp now)>;

  static constexpr size_t kMaxDatagram = 2048;
  static constexpr size_t kBatch = 32;

  MediaWorker(unsigned index, uint16_t port);
  ~MediaWorker();
  MediaWorker(const MediaWorker&) = delete;
  MediaWorker& operator=(const MediaWorker&) = delete;

  // Binds the dual-stack UDP socket on `port` (all addresses).
  lss::Status open();
  // Replies leave from the address each peer sent to (IP_PKTINFO): on a
  // host with several addresses the kernel's own choice of source can be
  // another one, which ICE agents (libnice) drop as a mismatch. Costs a map
  // lookup per datagram, so only where several candidates are announced.
  void set_reply_from_destination(bool on) { pktinfo_ = on; }
  // How gathered sends become messages (SEND_PATH; kGso by default). kGso
  // falls back to kGrouped by itself when the kernel or the route's device
  // refuses UDP GSO. Before start().
  void set_send_shape(SendShape shape) { active_shape_.store(shape, std::memory_order_relaxed); }
  // The shape in use (kGrouped after a fallback); readable from any thread.
  SendShape send_shape() const { return active_shape_.load(std::memory_order_relaxed); }
  // How messages reach the kernel (SEND_PATH=io_uring: kUring, connected:
  // kConnected); before open(). kUring falls back to kSendmmsg, with a
  // warning, where the kernel refuses a ring or the server was built
  // without liburing. kConnected sets SO_REUSEPORT on the shared socket.
  // kXdp falls back to kSendmmsg, with a warning, where no AF_XDP socket
  // can be made on the device (set_xdp_device) or the server was built
  // without libxdp.
  void set_send_via(SendVia via) { via_.store(via, std::memory_order_relaxed); }
  // The way in use; readable from any thread.
  SendVia send_via() const { return via_.load(std::memory_order_relaxed); }
  // The send path in use, for metrics and /api/stats: the shape's name
  // (plain, grouped, gso) with sendmmsg, else "io_uring" or "connected"
  // (their GSO shape), "io_uring-grouped" or "connected-grouped" (after a
  // GSO fallback); likewise "xdp". Any thread.
  const char* send_path_name() const;
  // SEND_PATH=connected: a connected socket closes once it has sent nothing
  // for this long (ConnectedSockets::kIdleTimeout; tests shorten it).
  // Before start().
  void set_connected_idle_timeout(Duration timeout);
  // SEND_PATH=xdp: the device whose queue (worker index % its TX queues)
  // the worker's AF_XDP socket transmits on; before open().
  void set_xdp_device(std::string device) { xdp_device_ = std::move(device); }
  // SEND_PATH=xdp: datagrams sent as AF_XDP frames, and those that went
  // through the socket instead (IPv6, routed through another device, next
  // hop's MAC not yet known, no free frame); readable from any thread.
  uint64_t xdp_frames() const { return xdp_frames_.load(std::memory_order_relaxed); }
  uint64_t xdp_fallbacks() const { return xdp_fallbacks_.load(std::memory_order_relaxed); }
  // Connected sockets open now, and the datagrams received through them;
  // readable from any thread.
  uint64_t connected_sockets() const { return connected_open_.load(std::memory_order_relaxed); }
  uint64_t connected_datagrams_in() const { return connected_in_.load(std::memory_order_relaxed); }
  // Also listens for ICE-TCP on `port` (0: any); before start().
  lss::Status open_tcp(uint16_t port);
  // The ICE-TCP port, 0 without ICE-TCP.
  uint16_t tcp_port() const { return tcp_ ? tcp_->port() : 0; }
  const TcpMediaServer* tcp() const { return tcp_.get(); }
  void set_handlers(DatagramHandler on_datagram, TickHandler on_tick, Duration tick_interval);
  // Cross-worker hand-off: `on_wake` runs on this worker when another thread
  // called wake(), and sets `arrival` to when each packet it forwards reached
  // the server, before sending it (for forwarding_latency()).
  using WakeHandler = std::function<void(Timestamp now, Timestamp& arrival)>;
  void set_wake_handler(WakeHandler on_wake);
  // Run around every batch of work (a receive batch, a wake-up, a tick, an
  // ICE-TCP or link datagram), before its sends are flushed: the engine's
  // viewer-major fan-out (sfu/fanout_batch.hpp). Before start().
  void set_batch_handlers(std::function<void()> begin, std::function<void()> end) {
    on_batch_begin_ = std::move(begin);
    on_batch_end_ = std::move(end);
  }
  // Thread-safe and cheap when repeated: one eventfd write until the worker
  // has woken.
  void wake();
  void start();  // starts the thread
  void stop();   // stops and joins

  unsigned index() const { return index_; }
  uint16_t port() const { return port_; }
  // The UDP socket (non-blocking; dual-stack IPv6 unless the kernel has no
  // IPv6), for a synchronous exchange on the control thread before start():
  // PUBLIC_IP=auto asks a STUN server through it, so the mapping it learns
  // is this very socket's. From start() on only the worker reads it.
  int udp_handle() { return socket_.native_handle(); }
  boost::asio::io_context& io() { return io_; }
  bool on_worker_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

  // Worker thread only. Copies `data`: the caller's buffer may be reused.
  // An address with a link goes out through that link socket, at once.
  void send(ByteSpan data, const SocketAddress& to);
  // A node-to-node link socket (see link_sockets.hpp), worker thread only:
  // what arrives on it reaches the datagram handler with `from.link` set.
  std::optional<uint16_t> open_link();
  void close_link(uint16_t id);
  // A buffer of at least `capacity` bytes to build the next datagram in,
  // which send() then takes without a copy (DatagramBatch::spare); null
  // when there is none that large. Worker thread only.
  uint8_t* send_buffer(size_t capacity) {
    return batch_ && capacity <= DatagramBatch::kSlotSize ? batch_->spare() : nullptr;
  }
  // PACING=on: send_at() holds datagrams until their release time. Before
  // start().
  void set_pacing(bool on);
  // Like send(), at `release` (which the caller computed as later than now:
  // net/paced_sends.hpp); at once without pacing or when the pool is full.
  // A non-zero `tag` comes back to the release handler when the datagram
  // goes, with the time it went. Worker thread only.
  void send_at(ByteSpan data, const SocketAddress& to, Timestamp release, uint32_t tag = 0);
  // Told when a tagged datagram given to send_at() leaves: the estimator of
  // the viewer it goes to then has its real send time, not the planned one
  // (a worker busy elsewhere releases late, and that is no path delay).
  // Before start().
  using ReleaseHandler = std::function<void(const SocketAddress&, uint32_t tag, Timestamp at)>;
  void set_release_handler(ReleaseHandler on_release) { on_release_ = std::move(on_release); }
  // Datagrams held for pacing now, and held in all (readable from any thread).
  uint64_t paced_held() const { return paced_held_.load(std::memory_order_relaxed); }
  uint64_t paced_total() const { return paced_total_.load(std::memory_order_relaxed); }
  // Datagrams sent unpaced because the pool was full (PacedSends::kSlots).
  uint64_t paced_pool_full() const { return paced_full_.load(std::memory_order_relaxed); }
  // Sends what send() gathered (done after each batch and tick).
  void flush();

  struct Counters {
    uint64_t datagrams_in = 0, bytes_in = 0, datagrams_out = 0, bytes_out = 0, send_errors = 0;
  };
  const Counters& counters() const { return counters_; }
  // UDP datagrams sent (on the shared socket, or connected ones), and the
  // sendmmsg messages (or io_uring SENDMSGs) that carried them (fewer with
  // GSO); readable from any thread.
  uint64_t udp_datagrams_sent() const { return udp_datagrams_.load(std::memory_order_relaxed); }
  uint64_t udp_messages_sent() const { return udp_messages_.load(std::memory_order_relaxed); }
  // Arrival to sendmmsg of what receive batches and relay hand-offs sent
  // (to the release, for a paced copy: its hold included); readable from
  // any thread.
  const LatencyHistogram& forwarding_latency() const { return forwarding_latency_; }
  // Nanoseconds spent handling datagrams, wake-ups and ticks (the rest is
  // waiting, or control jobs); readable from any thread.
  uint64_t busy_ns() const { return busy_ns_.load(std::memory_order_relaxed); }

 private:
  void wait_readable();
  // Reads what arrived on `fd`: the shared socket, or a connected one.
  void drain(int fd);
  void learn_destination(const msghdr& h, const SocketAddress& from);
  const uint8_t* source_for(const SocketAddress& to) const;
  // Sends every message (sendmmsg on the shared socket or the connected
  // ones, or the io_uring), counting what went; `refused(i, errno)` for a
  // message the kernel refused, and the rest still go.
  template <class Refused>
  void send_messages(std::span<mmsghdr> msgs, Refused&& refused);
  // Counts messages the kernel took.
  void count_sent(std::span<const mmsghdr> msgs);
  // sendmmsg of `msgs` on `fd` until all went or were refused;
  // `refused(first + i, errno)` for message i.
  template <class Refused>
  void send_mmsg(int fd, std::span<mmsghdr> msgs, size_t first, Refused& refused);
  // SEND_PATH=connected: each destination's run of messages with one
  // sendmmsg on its connected socket, the rest on the shared one.
  template <class Refused>
  void send_connected(std::span<mmsghdr> msgs, Refused& refused);
  // SEND_PATH=xdp: the messages the AF_XDP socket takes as frames, the
  // rest with sendmmsg on the shared socket.
  template <class Refused>
  void send_xdp(std::span<mmsghdr> msgs, Refused& refused);
  // The connected socket for the destination of `h` (made on first use),
  // or -1 for the shared socket.
  int connected_fd(const msghdr& h, Timestamp now);
  // Sends message `i` of the batch again as single datagrams after the
  // kernel refused its GSO form with `error`; may turn GSO off.
  void gso_refused(size_t i, int error);
  void schedule_tick();
  // Sends the held datagrams that are due (inside a gathered batch) and
  // keeps the pacing timer running while any are held.
  void release_paced(Timestamp now);
  void arm_pacing();
  void wait_wake();
  // Runs `f` with its sends gathered into sendmmsg batches, sent when it
  // returns; `arrival` is when what it forwards came in (unset for ticks,
  // whose sends are not forwarding), for forwarding_latency().
  template <class F>
  void gathered(Timestamp arrival, F&& f);

  unsigned index_;
  uint16_t port_;
  boost::asio::io_context io_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer pace_timer_;
  bool pace_armed_ = false;
  std::unique_ptr<PacedSends> paced_;  // with PACING=on
  ReleaseHandler on_release_;
  std::atomic<uint64_t> paced_held_{0}, paced_total_{0}, paced_full_{0};
  DatagramHandler on_datagram_;
  TickHandler on_tick_;
  Duration tick_interval_{};
  std::thread thread_;
  std::vector<uint8_t> buffers_;  // kBatch * kMaxDatagram, allocated once
  bool v6_ = true;                // dual-stack socket (else IPv4 only)
  Counters counters_;
  // Gathered sends (made in open(), once the socket's family is known).
  std::unique_ptr<DatagramBatch> batch_;
  bool batching_ = false;
  std::atomic<SendShape> active_shape_{SendShape::kGso};
  std::atomic<SendVia> via_{SendVia::kSendmmsg};
  std::unique_ptr<UringSender> uring_;  // SEND_PATH=io_uring
  std::unique_ptr<XdpSender> xdp_;      // SEND_PATH=xdp
  std::string xdp_device_;
  std::atomic<uint64_t> xdp_frames_{0}, xdp_fallbacks_{0};
  int gso_failures_ = 0;  // refusals that were not the kernel's last word
  static constexpr int kGsoFailuresToGiveUp = 8;
  std::atomic<uint64_t> udp_datagrams_{0}, udp_messages_{0};
  // Wake-ups from other workers: an eventfd, written only when no wake is
  // pending, so a busy origin costs the relay one read per batch at most.
  boost::asio::posix::stream_descriptor wake_fd_;
  std::atomic<bool> wake_pending_{false};
  WakeHandler on_wake_;
  std::function<void()> on_batch_begin_, on_batch_end_;
  // When the packets whose sends are being gathered arrived (unset outside
  // receive batches and hand-offs: ticks' sends are not forwarding).
  Timestamp arrival_{};
  LatencyHistogram forwarding_latency_;
  // Datagrams at the front of the batch that flush() does not count in
  // forwarding_latency_ (released paced ones, counted at their release).
  size_t uncounted_ = 0;
  std::atomic<uint64_t> busy_ns_{0};
  std::unique_ptr<TcpMediaServer> tcp_;          // after io_: destroyed before it
  std::unique_ptr<LinkSockets> links_;           // likewise
  std::unique_ptr<ConnectedSockets> connected_;  // SEND_PATH=connected; likewise
  Duration connected_idle_{};                    // zero: ConnectedSockets' default
  std::atomic<uint64_t> connected_open_{0}, connected_in_{0};
  // Where each remote sent to (a local address, v4-mapped on a dual-stack
  // socket), learnt from received datagrams when pktinfo_ is on.
  bool pktinfo_ = false;
  struct Local {
    std::array<uint8_t, 16> ip{};  // IPv6 or v4-mapped
  };
  std::unordered_map<SocketAddress, Local, SocketAddressHash> local_of_;
  static constexpr size_t kMaxLocals = 65536;  // a flood of sources resets it
  // cmsg room per datagram: a dual-stack socket gets an IPv4 datagram's
  // destination twice, IPV6_PKTINFO (40 bytes) then IP_PKTINFO (32).
  static constexpr size_t kControl = 128;
  std::vector<uint8_t> recv_control_;
};

}  // namespace lss::net
