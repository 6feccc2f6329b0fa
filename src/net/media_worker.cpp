#include "net/media_worker.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "net/connected_sockets.hpp"
#include "net/sockaddr.hpp"
#include "net/uring_sender.hpp"
#include "net/xdp_sender.hpp"

namespace lss::net {
namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {
// A counter only this worker's thread writes and others read.
void add_relaxed(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
}  // namespace

MediaWorker::MediaWorker(unsigned index, uint16_t port)
    : index_(index),
      port_(port),
      socket_(io_),
      tick_timer_(io_),
      pace_timer_(io_),
      buffers_(kBatch * kMaxDatagram),
      wake_fd_(io_),
      recv_control_(kBatch * kControl) {}

MediaWorker::~MediaWorker() {
  stop();
}

lss::Status MediaWorker::open() {
  boost::system::error_code ec;
  // SEND_PATH=connected: the connected sockets share the port.
  const bool reuse_port = send_via() == SendVia::kConnected;
  const auto allow_reuse = [&] {
    const int one = 1;
    if (reuse_port &&
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ec.assign(errno, boost::system::system_category());
    }
  };
  // Dual-stack where the kernel has IPv6; plain IPv4 where it does not.
  socket_.open(udp::v6(), ec);
  if (!ec) socket_.set_option(asio::ip::v6_only(false), ec);
  if (!ec) allow_reuse();
  if (!ec) socket_.bind(udp::endpoint(udp::v6(), port_), ec);
  if (ec) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    ec.clear();
    v6_ = false;
    socket_.open(udp::v4(), ec);
    if (!ec) allow_reuse();
    if (!ec) socket_.bind(udp::endpoint(udp::v4(), port_), ec);
  }
  // Large buffers absorb bursts (a keyframe fanned out to many viewers).
  boost::system::error_code opt;
  socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20), opt);
  socket_.set_option(asio::socket_base::send_buffer_size(4 << 20), opt);
  if (!ec) socket_.non_blocking(true, ec);
  if (!ec) {
    // Destination addresses of what arrives (see set_reply_from_destination).
    const int one = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    if (v6_)
      ::setsockopt(socket_.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  }
  if (ec) {
    return make_error("cannot bind UDP port " + std::to_string(port_) + ": " + ec.message());
  }
  port_ = socket_.local_endpoint(ec).port();
  batch_ = std::make_unique<DatagramBatch>(v6_);
  if (send_via() == SendVia::kUring) {
    // One SQE per message of a flush: a full batch's worth of entries.
    uring_ = std::make_unique<UringSender>();
    if (auto st = uring_->open(unsigned(DatagramBatch::kSlots)); !st) {
      uring_.reset();
      via_.store(SendVia::kSendmmsg, std::memory_order_relaxed);
      spdlog::warn("media worker {}: io_uring unavailable ({}); sending with sendmmsg", index_,
                   st.message());
    }
  }
  if (send_via() == SendVia::kXdp) {
    xdp_ = std::make_unique<XdpSender>();
    auto st = xdp_device_.empty() ? lss::Status(make_error("no XDP_DEVICE"))
                                  : xdp_->open(xdp_device_, index_, port_);
    if (!st) {
      xdp_.reset();
      via_.store(SendVia::kSendmmsg, std::memory_order_relaxed);
      spdlog::warn("media worker {}: AF_XDP unavailable ({}); sending with sendmmsg", index_,
                   st.message());
    } else {
      spdlog::info("media worker {}: sending through AF_XDP on {}", index_, xdp_->describe());
    }
  }
  if (send_via() == SendVia::kConnected) {
    connected_ =
        std::make_unique<ConnectedSockets>(io_, index_, v6_, port_, [this](int fd) { drain(fd); });
    if (connected_idle_ != Duration{}) connected_->set_idle_timeout(connected_idle_);
  }
  const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) return make_error(std::string("eventfd: ") + std::strerror(errno));
  wake_fd_.assign(efd, ec);
  if (ec) return make_error("eventfd: " + ec.message());
  return {};
}

lss::Status MediaWorker::open_tcp(uint16_t port) {
  tcp_ = std::make_unique<TcpMediaServer>(io_, port);
  if (auto st = tcp_->open(); !st) {
    tcp_.reset();
    return st;
  }
  return {};
}

void MediaWorker::learn_destination(const msghdr& h, const SocketAddress& from) {
  Local local;
  bool found = false;
  // A cmsg the kernel cut short (no room left: MSG_CTRUNC) is not read.
  for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      local.ip[10] = local.ip[11] = 0xff;  // kept v4-mapped, as the socket sends
      std::memcpy(local.ip.data() + 12, &info.ipi_addr, 4);
      found = true;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      std::memcpy(local.ip.data(), &info.ipi6_addr, 16);
      found = true;
    }
  }
  if (!found) return;
  auto it = local_of_.find(from);
  if (it != local_of_.end()) {
    it->second = local;
    return;
  }
  if (local_of_.size() >= kMaxLocals) local_of_.clear();
  local_of_.emplace(from, local);
}

const uint8_t* MediaWorker::source_for(const SocketAddress& to) const {
  auto it = local_of_.find(to);
  return it == local_of_.end() ? nullptr : it->second.ip.data();  // null: the kernel chooses
}

void MediaWorker::set_handlers(DatagramHandler on_datagram, TickHandler on_tick, Duration tick) {
  on_datagram_ = std::move(on_datagram);
  on_tick_ = std::move(on_tick);
  tick_interval_ = tick;
}

template <class F>
void MediaWorker::gathered(Timestamp arrival, F&& f) {
  const Timestamp start = Clock::now();  // per batch, not per packet
  batching_ = true;
  // Held datagrams that are due go before anything this batch sends, so a
  // viewer's packets keep their order (sfu/burst_pacer.hpp). Their time in
  // the server is counted at release, from their own arrival: not again by
  // flush() with this batch's.
  if (paced_ && !paced_->empty()) {
    release_paced(start);
    uncounted_ = batch_ ? batch_->size() : 0;
  }
  arrival_ = arrival;
  if (on_batch_begin_) on_batch_begin_();
  f();
  if (on_batch_end_) on_batch_end_();
  batching_ = false;
  flush();
  arrival_ = Timestamp{};
  const auto busy = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
  add_relaxed(busy_ns_, uint64_t(busy.count()));
}

void MediaWorker::set_wake_handler(WakeHandler on_wake) {
  on_wake_ = std::move(on_wake);
}

void MediaWorker::wake() {
  // acq_rel pairs with the exchange in wait_wake(): whatever the caller put
  // in a ring before waking is visible to the handler that clears the flag.
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  const eventfd_t one = 1;
  if (::write(wake_fd_.native_handle(), &one, sizeof one) < 0) {
    wake_pending_.store(false, std::memory_order_relaxed);  // let the next call try again
  }
}

void MediaWorker::wait_wake() {
  wake_fd_.async_wait(asio::posix::descriptor_base::wait_read,
                      [this](const boost::system::error_code& ec) {
                        if (ec) return;
                        eventfd_t value;
                        (void)::read(wake_fd_.native_handle(), &value, sizeof value);
                        wake_pending_.exchange(false, std::memory_order_acq_rel);
                        if (on_wake_) {
                          const Timestamp now = Clock::now();
                          gathered(now, [&] { on_wake_(now, arrival_); });
                        }
                        wait_wake();
                      });
}

void MediaWorker::start() {
  wait_readable();
  if (tcp_) {
    tcp_->start([this](uint8_t* data, size_t size, const SocketAddress& from, Timestamp now) {
      counters_.datagrams_in++;
      counters_.bytes_in += size;
      if (on_datagram_) gathered(now, [&] { on_datagram_(data, size, from, now); });
    });
  }
  if (wake_fd_.is_open()) wait_wake();
  if (on_tick_) schedule_tick();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), ("media-" + std::to_string(index_)).c_str());
    io_.run();
  });
}

void MediaWorker::stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
  if (tcp_) tcp_->stop();  // the worker thread is gone: safe from here
}

void MediaWorker::wait_readable() {
  socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (ec) return;
    drain(socket_.native_handle());
    wait_readable();
  });
}

void MediaWorker::set_connected_idle_timeout(Duration timeout) {
  connected_idle_ = timeout;
  if (connected_) connected_->set_idle_timeout(timeout);
}

void MediaWorker::drain(int fd) {
  mmsghdr msgs[kBatch];
  iovec iovs[kBatch];
  sockaddr_storage addrs[kBatch];
  // Bounded: a flood cannot starve timers and posted work forever.
  for (int round = 0; round < 8; ++round) {
    for (size_t i = 0; i < kBatch; ++i) {
      iovs[i] = {buffers_.data() + i * kMaxDatagram, kMaxDatagram};
      std::memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
      if (pktinfo_) {
        msgs[i].msg_hdr.msg_control = recv_control_.data() + i * kControl;
        msgs[i].msg_hdr.msg_controllen = kControl;
      }
    }
    const int n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
    // A connected socket reports an ICMP error (the peer's port closed)
    // once, in place of what it holds.
    if (n < 0 && errno == ECONNREFUSED && fd != socket_.native_handle()) continue;
    if (n <= 0) return;
    const Timestamp now = Clock::now();
    if (fd != socket_.native_handle()) add_relaxed(connected_in_, uint64_t(n));
    gathered(now, [&] {
      for (int i = 0; i < n; ++i) {
        if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;  // larger than any valid packet
        const size_t len = msgs[i].msg_len;
        counters_.datagrams_in++;
        counters_.bytes_in += len;
        const SocketAddress from = from_sockaddr(addrs[i]);
        if (pktinfo_) learn_destination(msgs[i].msg_hdr, from);
        if (on_datagram_) on_datagram_(buffers_.data() + i * kMaxDatagram, len, from, now);
      }
    });
    if (n < int(kBatch)) return;
  }
}

std::optional<uint16_t> MediaWorker::open_link() {
  if (!links_) {
    links_ = std::make_unique<LinkSockets>(
        io_, [this](uint8_t* data, size_t size, const SocketAddress& from, Timestamp now) {
          counters_.datagrams_in++;
          counters_.bytes_in += size;
          if (on_datagram_) gathered(now, [&] { on_datagram_(data, size, from, now); });
        });
  }
  return links_->open();
}

void MediaWorker::close_link(uint16_t id) {
  if (links_) links_->close(id);
}

void MediaWorker::send(ByteSpan data, const SocketAddress& to) {
  if (to.link) {
    if (!links_ || !links_->send(data, to)) {
      counters_.send_errors++;
      return;
    }
    counters_.datagrams_out++;
    counters_.bytes_out += data.size();
    return;
  }
  if (to.is_tcp()) {
    // Queued on its connection at once (never blocks; a full queue drops).
    if (!tcp_ || !tcp_->send(data, to)) {
      counters_.send_errors++;
      return;
    }
    counters_.datagrams_out++;
    counters_.bytes_out += data.size();
    return;
  }
  if (!v6_ && !to.is_ipv4()) return;  // an IPv4-only socket
  if (!batch_) return;                // not open
  const uint8_t* source = pktinfo_ ? source_for(to) : nullptr;
  if (!batch_->add(data, to, source)) {
    if (data.size() > DatagramBatch::kSlotSize) {
      counters_.send_errors++;
      return;
    }
    flush();  // full
    batch_->add(data, to, source);
  }
  if (!batching_ || batch_->full()) flush();
}

const char* MediaWorker::send_path_name() const {
  // By how the worker hands messages to the kernel, then their shape: the
  // sendmmsg row is the shape's own name (send_shape_name); io_uring and
  // connected name the shape only where it is not GSO.
  static constexpr const char* kNames[4][3] = {
      {"plain", "grouped", "gso"},
      {"io_uring-plain", "io_uring-grouped", "io_uring"},
      {"connected-plain", "connected-grouped", "connected"},
      {"xdp-plain", "xdp-grouped", "xdp"},
  };
  static_assert(int(SendVia::kSendmmsg) == 0 && int(SendVia::kUring) == 1 &&
                int(SendVia::kConnected) == 2 && int(SendVia::kXdp) == 3);
  static_assert(int(SendShape::kPlain) == 0 && int(SendShape::kGrouped) == 1 &&
                int(SendShape::kGso) == 2);
  return kNames[size_t(send_via())][size_t(send_shape())];
}

void MediaWorker::count_sent(std::span<const mmsghdr> msgs) {
  if (msgs.empty()) return;
  uint64_t datagrams = 0;
  for (const mmsghdr& m : msgs) {
    const msghdr& h = m.msg_hdr;  // an iovec per datagram
    datagrams += h.msg_iovlen;
    for (size_t k = 0; k < h.msg_iovlen; ++k) counters_.bytes_out += h.msg_iov[k].iov_len;
  }
  counters_.datagrams_out += datagrams;
  add_relaxed(udp_messages_, uint64_t(msgs.size()));
  add_relaxed(udp_datagrams_, datagrams);
}

template <class Refused>
void MediaWorker::send_messages(std::span<mmsghdr> msgs, Refused&& refused) {
  if (connected_) {
    send_connected(msgs, refused);
    return;
  }
  if (xdp_) {
    send_xdp(msgs, refused);
    return;
  }
  size_t done = 0;
  // SEND_PATH=io_uring: one SENDMSG per message, each completion read as
  // sendmmsg's result for that message would be. The results live on this
  // frame: refused() may send again through here (a refused GSO message,
  // split). Unlike sendmmsg, which stops at a refused message, the ring has
  // sent the later ones already: a refused GSO message's datagrams, sent
  // again, follow the same viewer's later messages of this flush.
  while (uring_ && done < msgs.size()) {
    const auto part = msgs.subspan(done, std::min(DatagramBatch::kSlots, msgs.size() - done));
    std::array<int, DatagramBatch::kSlots> results;
    if (!uring_->send(socket_.native_handle(), part, results)) {
      spdlog::warn("media worker {}: io_uring failed ({}); sending with sendmmsg", index_,
                   std::strerror(uring_->error()));
      uring_.reset();
      via_.store(SendVia::kSendmmsg, std::memory_order_relaxed);
    }
    size_t sent_from = 0;  // counted a run at a time
    for (size_t i = 0; i < part.size(); ++i) {
      if (results[i] >= 0) continue;
      count_sent(part.subspan(sent_from, i - sent_from));
      sent_from = i + 1;
      refused(done + i, -results[i]);
    }
    count_sent(part.subspan(sent_from));
    done += part.size();
  }
  send_mmsg(socket_.native_handle(), msgs.subspan(done), done, refused);
}

template <class Refused>
void MediaWorker::send_mmsg(int fd, std::span<mmsghdr> msgs, size_t first, Refused& refused) {
  size_t done = 0;
  while (done < msgs.size()) {
    const int n = ::sendmmsg(fd, msgs.data() + done, unsigned(msgs.size() - done), MSG_DONTWAIT);
    if (n <= 0) {
      refused(first + done, errno);  // the kernel stopped at this one; the rest still go
      ++done;
      continue;
    }
    count_sent(msgs.subspan(done, size_t(n)));
    done += size_t(n);
  }
}

namespace {
bool same_destination(const msghdr& a, const msghdr& b) {
  return a.msg_namelen == b.msg_namelen && a.msg_name && b.msg_name &&
         std::memcmp(a.msg_name, b.msg_name, a.msg_namelen) == 0;
}

// A message for a connected socket: no address (Linux would look the route
// up again for one) and no source address (the socket is bound to it);
// UDP_SEGMENT stays. DatagramBatch puts the source's cmsg first.
void as_connected(msghdr& h) {
  h.msg_name = nullptr;
  h.msg_namelen = 0;
  const cmsghdr* c = CMSG_FIRSTHDR(&h);
  if (!c || !((c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) ||
              (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO))) {
    return;
  }
  const size_t skip = CMSG_ALIGN(c->cmsg_len);
  if (h.msg_controllen > skip) {
    h.msg_control = static_cast<uint8_t*>(h.msg_control) + skip;
    h.msg_controllen -= skip;
  } else {
    h.msg_control = nullptr;
    h.msg_controllen = 0;
  }
}
}  // namespace

int MediaWorker::connected_fd(const msghdr& h, Timestamp now) {
  if (!h.msg_name || h.msg_namelen > sizeof(sockaddr_storage)) return -1;
  sockaddr_storage ss{};
  std::memcpy(&ss, h.msg_name, h.msg_namelen);
  const SocketAddress to = from_sockaddr(ss);
  const uint8_t* source = pktinfo_ ? source_for(to) : nullptr;
  int fd = connected_->find(to, source, now);
  if (fd == ConnectedSockets::kAbsent) {
    fd = connected_->open(to, source, now);
    connected_open_.store(connected_->size(), std::memory_order_relaxed);
  }
  return fd;
}

template <class Refused>
void MediaWorker::send_connected(std::span<mmsghdr> msgs, Refused& refused) {
  const Timestamp now = Clock::now();
  const int shared = socket_.native_handle();
  // DatagramBatch puts a destination's messages together: each run goes
  // with one sendmmsg on its socket; runs for the shared socket go
  // together.
  size_t shared_from = 0;
  for (size_t i = 0; i < msgs.size();) {
    size_t j = i + 1;
    while (j < msgs.size() && same_destination(msgs[i].msg_hdr, msgs[j].msg_hdr)) ++j;
    const int fd = connected_fd(msgs[i].msg_hdr, now);
    if (fd >= 0) {
      if (shared_from < i) {
        send_mmsg(shared, msgs.subspan(shared_from, i - shared_from), shared_from, refused);
      }
      for (size_t k = i; k < j; ++k) as_connected(msgs[k].msg_hdr);
      send_mmsg(fd, msgs.subspan(i, j - i), i, refused);
      shared_from = j;
    }
    i = j;
  }
  if (shared_from < msgs.size()) {
    send_mmsg(shared, msgs.subspan(shared_from), shared_from, refused);
  }
}

template <class Refused>
void MediaWorker::send_xdp(std::span<mmsghdr> msgs, Refused& refused) {
  const int shared = socket_.native_handle();
  // The frames go when the flush is over (one kick); runs of messages the
  // socket must carry go with sendmmsg as they come, after the frames
  // queued before them: a destination's messages all go one way unless the
  // ring fills mid-flush, and then the frames it took leave first, so each
  // viewer's datagrams keep their order.
  size_t shared_from = 0;
  uint64_t frames = 0, fallbacks = 0;
  const auto send_shared = [&](size_t from, size_t to) {
    xdp_->flush();
    send_mmsg(shared, msgs.subspan(from, to - from), from, refused);
  };
  for (size_t i = 0; i < msgs.size(); ++i) {
    const msghdr& h = msgs[i].msg_hdr;
    if (!xdp_->add(h)) {
      fallbacks += h.msg_iovlen;
      continue;
    }
    if (shared_from < i) send_shared(shared_from, i);
    shared_from = i + 1;
    frames += h.msg_iovlen;
    counters_.datagrams_out += h.msg_iovlen;
    for (size_t k = 0; k < h.msg_iovlen; ++k) counters_.bytes_out += h.msg_iov[k].iov_len;
  }
  if (shared_from < msgs.size()) send_shared(shared_from, msgs.size());
  xdp_->flush();
  if (frames) add_relaxed(xdp_frames_, frames);
  if (fallbacks) add_relaxed(xdp_fallbacks_, fallbacks);
}

void MediaWorker::gso_refused(size_t i, int error) {
  // EIO: the route's device cannot checksum (GSO needs it); ENOPROTOOPT,
  // EOPNOTSUPP: a kernel without UDP GSO. Anything else (EINVAL for a
  // segment over the path's MTU, say) may be this message's alone: its
  // datagrams go plainly and GSO stays, unless it keeps happening.
  const bool never = error == EIO || error == ENOPROTOOPT || error == EOPNOTSUPP;
  if (never || ++gso_failures_ >= kGsoFailuresToGiveUp) {
    active_shape_.store(SendShape::kGrouped, std::memory_order_relaxed);
    spdlog::warn("media worker {}: UDP GSO refused ({}); sending one datagram per message", index_,
                 std::strerror(error));
  }
  send_messages(batch_->split(i), [this](size_t, int) { counters_.send_errors++; });
}

void MediaWorker::flush() {
  if (!batch_ || batch_->size() == 0) return;
  const size_t gathered_count = batch_->size();
  send_messages(
      batch_->messages(active_shape_.load(std::memory_order_relaxed)), [this](size_t i, int error) {
        // A full buffer, an unreachable peer (a connected socket hears of a
        // closed port: ECONNREFUSED)...: UDP loses it, as the network could.
        const bool lost = error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS ||
                          error == ECONNREFUSED || error == EHOSTUNREACH || error == ENETUNREACH;
        if (batch_->datagrams(i) > 1 && !lost) {
          gso_refused(i, error);
        } else {
          counters_.send_errors += batch_->datagrams(i);
        }
      });
  const size_t forwarded = gathered_count - std::min(uncounted_, gathered_count);
  uncounted_ = 0;
  if (arrival_ != Timestamp{} && forwarded > 0) {
    const auto waited =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - arrival_);
    forwarding_latency_.add(uint64_t(std::max<int64_t>(0, waited.count())), forwarded);
  }
  batch_->clear();
}

void MediaWorker::set_pacing(bool on) {
  if (on && !paced_) paced_ = std::make_unique<PacedSends>();
  if (!on) paced_.reset();
}

void MediaWorker::send_at(ByteSpan data, const SocketAddress& to, Timestamp release, uint32_t tag) {
  const Timestamp now = Clock::now();
  if (!paced_ || !paced_->hold(data, to, release, now, tag, arrival_)) {
    // Unpaced rather than lost: a burst to more viewers than the pool holds.
    if (paced_) paced_full_.store(paced_->counters().full, std::memory_order_relaxed);
    send(data, to);
    if (tag && on_release_) on_release_(to, tag, now);
    return;
  }
  add_relaxed(paced_total_, 1);
  paced_held_.store(paced_->held(), std::memory_order_relaxed);
  arm_pacing();
}

void MediaWorker::release_paced(Timestamp now) {
  paced_->release_due(
      now, [this, now](ByteSpan d, const SocketAddress& to, uint32_t tag, Timestamp arrival) {
        send(d, to);
        if (tag && on_release_) on_release_(to, tag, now);
        // Forwarded media: its time in the server includes the hold.
        if (arrival != Timestamp{}) {
          const auto held = std::chrono::duration_cast<std::chrono::microseconds>(now - arrival);
          forwarding_latency_.add(uint64_t(std::max<int64_t>(0, held.count())), 1);
        }
      });
  paced_held_.store(paced_->held(), std::memory_order_relaxed);
}

void MediaWorker::arm_pacing() {
  if (pace_armed_) return;
  pace_armed_ = true;
  // Every millisecond while anything is held: the wheel's granularity.
  pace_timer_.expires_after(std::chrono::milliseconds(1));
  pace_timer_.async_wait([this](const boost::system::error_code& ec) {
    pace_armed_ = false;
    if (ec || !paced_) return;
    gathered(Timestamp{}, [] {});  // releases what is due, then flushes
    if (!paced_->empty()) arm_pacing();
  });
}

void MediaWorker::schedule_tick() {
  tick_timer_.expires_after(tick_interval_);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    gathered(Timestamp{}, [this] { on_tick_(Clock::now()); });
    if (xdp_) xdp_->refresh(Clock::now());  // the neighbour table, now and then
    if (connected_) {
      connected_->close_idle(Clock::now());
      connected_open_.store(connected_->size(), std::memory_order_relaxed);
    }
    schedule_tick();
  });
}

}  // namespace lss::net
