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

#include "net/sockaddr.hpp"

namespace lss::net {
namespace asio = boost::asio;
using udp = asio::ip::udp;

MediaWorker::MediaWorker(unsigned index, uint16_t port)
    : index_(index),
      port_(port),
      socket_(io_),
      tick_timer_(io_),
      buffers_(kBatch * kMaxDatagram),
      send_buffers_(kSendBatch * kMaxDatagram),
      send_msgs_(kSendBatch),
      send_iovs_(kSendBatch),
      send_addrs_(kSendBatch),
      wake_fd_(io_),
      recv_control_(kBatch * kControl),
      send_control_(kSendBatch * kControl) {}

MediaWorker::~MediaWorker() {
  stop();
}

lss::Status MediaWorker::open() {
  boost::system::error_code ec;
  // Dual-stack where the kernel has IPv6; plain IPv4 where it does not.
  socket_.open(udp::v6(), ec);
  if (!ec) socket_.set_option(asio::ip::v6_only(false), ec);
  if (!ec) socket_.bind(udp::endpoint(udp::v6(), port_), ec);
  if (ec) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    ec.clear();
    v6_ = false;
    socket_.open(udp::v4(), ec);
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
  for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      local.ip[10] = local.ip[11] = 0xff;  // kept v4-mapped, as the socket sends
      std::memcpy(local.ip.data() + 12, &info.ipi_addr, 4);
      found = true;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
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

void MediaWorker::set_source(msghdr& h, const SocketAddress& to) {
  auto it = local_of_.find(to);
  if (it == local_of_.end()) return;  // the kernel chooses
  uint8_t* room = send_control_.data() + pending_ * kControl;
  std::memset(room, 0, kControl);
  h.msg_control = room;
  if (v6_) {
    // A dual-stack socket takes IPV6_PKTINFO for both families (a
    // v4-mapped source for IPv4 peers).
    h.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    std::memcpy(&info.ipi6_addr, it->second.ip.data(), 16);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
  } else {
    h.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    std::memcpy(&info.ipi_spec_dst, it->second.ip.data() + 12, 4);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
  }
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
  arrival_ = arrival;
  f();
  batching_ = false;
  flush();
  arrival_ = Timestamp{};
  const auto busy = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
  busy_ns_.store(busy_ns_.load(std::memory_order_relaxed) + uint64_t(busy.count()),
                 std::memory_order_relaxed);
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
    drain();
    wait_readable();
  });
}

void MediaWorker::drain() {
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
    const int n = recvmmsg(socket_.native_handle(), msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    const Timestamp now = Clock::now();
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
  if (data.size() > kMaxDatagram) {
    counters_.send_errors++;
    return;
  }
  sockaddr_storage& ss = send_addrs_[pending_];
  if (!v6_ && !to.is_ipv4()) return;  // an IPv4-only socket
  const socklen_t len = to_sockaddr(to, v6_, ss);
  uint8_t* slot = send_buffers_.data() + pending_ * kMaxDatagram;
  std::memcpy(slot, data.data(), data.size());
  send_iovs_[pending_] = {slot, data.size()};
  msghdr& h = send_msgs_[pending_].msg_hdr;
  h = msghdr{};
  h.msg_name = &ss;
  h.msg_namelen = len;
  h.msg_iov = &send_iovs_[pending_];
  h.msg_iovlen = 1;
  if (pktinfo_) set_source(h, to);
  ++pending_;
  if (!batching_ || pending_ == kSendBatch) flush();
}

void MediaWorker::flush() {
  size_t done = 0;
  while (done < pending_) {
    const int n = ::sendmmsg(socket_.native_handle(), send_msgs_.data() + done,
                             unsigned(pending_ - done), MSG_DONTWAIT);
    if (n <= 0) {
      // The message at `done` failed (full buffer, unreachable...): UDP
      // loses it, as the network could; the rest still go.
      counters_.send_errors++;
      ++done;
      continue;
    }
    for (size_t i = done; i < done + size_t(n); ++i) {
      counters_.datagrams_out++;
      counters_.bytes_out += send_iovs_[i].iov_len;
    }
    done += size_t(n);
  }
  if (arrival_ != Timestamp{} && pending_ > 0) {
    const auto waited =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - arrival_);
    forwarding_latency_.add(uint64_t(std::max<int64_t>(0, waited.count())), pending_);
  }
  pending_ = 0;
}

void MediaWorker::schedule_tick() {
  tick_timer_.expires_after(tick_interval_);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    gathered(Timestamp{}, [this] { on_tick_(Clock::now()); });
    schedule_tick();
  });
}

}  // namespace lss::net
