#include "net/xdp_sender.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#ifdef LSS_HAVE_XDP
#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <xdp/xsk.h>
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9  // linux/if_xdp.h since 6.17
#endif
#endif

namespace lss::net {

namespace xdp {

uint16_t ipv4_checksum(const uint8_t* header, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += uint32_t(header[i]) << 8 | header[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);  // host order
}

size_t build_udp4_frame(uint8_t* out, size_t capacity, const Udp4Frame& f, const uint8_t* payload,
                        size_t payload_len) {
  const size_t len = kHeaders + payload_len;
  if (len > capacity || kIpv4Header + kUdpHeader + payload_len > 0xffff) return 0;
  uint8_t* eth = out;
  std::memcpy(eth, f.dst_mac.data(), 6);
  std::memcpy(eth + 6, f.src_mac.data(), 6);
  eth[12] = 0x08, eth[13] = 0x00;  // IPv4
  uint8_t* ip = eth + kEthHeader;
  const auto put16 = [](uint8_t* p, size_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
  };
  ip[0] = 0x45;  // version 4, 20-byte header
  ip[1] = 0;     // DSCP/ECN
  put16(ip + 2, kIpv4Header + kUdpHeader + payload_len);
  put16(ip + 4, f.ip_id);
  ip[6] = 0x40, ip[7] = 0;  // DF, as Linux sends UDP with PMTU discovery
  ip[8] = f.ttl;
  ip[9] = IPPROTO_UDP;
  ip[10] = ip[11] = 0;
  std::memcpy(ip + 12, f.src_ip.data(), 4);
  std::memcpy(ip + 16, f.dst_ip.data(), 4);
  put16(ip + 10, ipv4_checksum(ip, kIpv4Header));
  uint8_t* udp = ip + kIpv4Header;
  put16(udp, f.src_port);
  put16(udp + 2, f.dst_port);
  put16(udp + 4, kUdpHeader + payload_len);
  udp[6] = udp[7] = 0;  // no checksum (IPv4 only)
  if (payload_len) std::memcpy(udp + kUdpHeader, payload, payload_len);
  return len;
}

bool parse_mac(std::string_view text, Mac& mac) {
  if (text.size() != 17) return false;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return false;
    unsigned v = 0;
    for (size_t k = 0; k < 2; ++k) {
      const char c = text[i * 3 + k];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= unsigned(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= unsigned(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= unsigned(c - 'A' + 10);
      } else {
        return false;
      }
    }
    mac[i] = uint8_t(v);
  }
  return true;
}

std::vector<Neighbour> parse_proc_net_arp(std::string_view text, std::string_view device) {
  // IP address  HW type  Flags  HW address  Mask  Device (a header line first)
  std::vector<Neighbour> out;
  std::istringstream in{std::string(text)};
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      if (line.rfind("IP address", 0) == 0) continue;
    }
    std::istringstream fields(line);
    std::string ip, type, flags, hw, mask, dev;
    if (!(fields >> ip >> type >> flags >> hw >> mask >> dev)) continue;
    if (dev != device) continue;
    char* end = nullptr;
    const unsigned long f = std::strtoul(flags.c_str(), &end, 16);
    if (end == flags.c_str() || !(f & 0x2)) continue;  // ATF_COM: resolved
    Neighbour n;
    in_addr a{};
    if (inet_pton(AF_INET, ip.c_str(), &a) != 1 || !parse_mac(hw, n.mac)) continue;
    if (n.mac == Mac{}) continue;
    std::memcpy(n.ip.data(), &a, 4);
    out.push_back(n);
  }
  return out;
}

std::vector<Route4> parse_proc_net_route(std::string_view text) {
  // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT;
  // addresses are the network-order value printed as a host integer.
  std::vector<Route4> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string dev, dst, gw, flags, refcnt, use, metric, mask;
    if (!(fields >> dev >> dst >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
    const auto hex = [](const std::string& s, uint32_t& v) {
      if (s.empty() || s.size() > 8) return false;
      char* end = nullptr;
      v = uint32_t(std::strtoul(s.c_str(), &end, 16));
      return *end == 0;
    };
    uint32_t d, g, f, m;
    if (!hex(dst, d) || !hex(gw, g) || !hex(flags, f) || !hex(mask, m)) continue;  // the header
    constexpr uint32_t kUp = 0x1, kGateway = 0x2, kReject = 0x200;
    if (!(f & kUp) || (f & kReject)) continue;
    Route4 r;
    r.device = dev;
    std::memcpy(r.dst.data(), &d, 4);
    std::memcpy(r.gateway.data(), &g, 4);
    std::memcpy(r.mask.data(), &m, 4);
    r.via_gateway = (f & kGateway) != 0;
    r.metric = unsigned(std::strtoul(metric.c_str(), nullptr, 10));
    out.push_back(std::move(r));
  }
  return out;
}

namespace {
uint32_t raw(const Ipv4& ip) {
  uint32_t v;
  std::memcpy(&v, ip.data(), 4);
  return v;
}
}  // namespace

void RouteTable::assign(const std::vector<Route4>& routes, std::string_view device,
                        const std::vector<Ipv4>& locals) {
  entries_.clear();
  for (const auto& r : routes) {
    const uint32_t mask = raw(r.mask);
    entries_.push_back({raw(r.dst) & mask, mask, raw(r.gateway), __builtin_popcount(mask), r.metric,
                        r.via_gateway, r.device == device});
  }
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.prefix != b.prefix ? a.prefix > b.prefix : a.metric < b.metric;
  });
  locals_.clear();
  for (const auto& ip : locals) locals_.push_back(raw(ip));
}

bool RouteTable::next_hop(const Ipv4& dst, Ipv4& hop) const {
  if (dst[0] == 127 || dst[0] == 0 || dst[0] >= 224) return false;  // loopback, multicast...
  const uint32_t d = raw(dst);
  for (uint32_t local : locals_) {
    if (d == local) return false;
  }
  for (const Entry& e : entries_) {
    if ((d & e.mask) != e.dst) continue;
    if (!e.ours) return false;
    if (e.via_gateway) {
      std::memcpy(hop.data(), &e.gateway, 4);
    } else {
      if (e.prefix < 32 && (d | e.mask) == 0xffffffffu) return false;  // the subnet's broadcast
      hop = dst;
    }
    return true;
  }
  return false;
}

}  // namespace xdp

namespace {

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

uint32_t as_u32(const xdp::Ipv4& ip) {
  uint32_t v;
  std::memcpy(&v, ip.data(), 4);
  return v;
}

// The device's MAC, MTU, TX queues and first IPv4 address with its mask.
struct DeviceInfo {
  xdp::Mac mac{};
  unsigned mtu = 0;
  unsigned tx_queues = 1;
  xdp::Ipv4 addr{}, mask{};
};

lss::Status device_info(const std::string& dev, DeviceInfo& info) {
  if (dev.empty() || dev.size() >= IFNAMSIZ) return make_error("bad device name '" + dev + "'");
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return make_error(errno_text("socket", errno));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, dev.c_str(), dev.size() + 1);
  if (::ioctl(s, SIOCGIFHWADDR, &ifr) != 0) {
    const int err = errno;
    ::close(s);
    return make_error(errno_text("device " + dev, err));
  }
  std::memcpy(info.mac.data(), ifr.ifr_hwaddr.sa_data, 6);
  if (::ioctl(s, SIOCGIFMTU, &ifr) == 0) info.mtu = unsigned(ifr.ifr_mtu);
  ethtool_channels ch{};
  ch.cmd = ETHTOOL_GCHANNELS;
  ifr.ifr_data = reinterpret_cast<char*>(&ch);
  if (::ioctl(s, SIOCETHTOOL, &ifr) == 0) {
    info.tx_queues = std::max({1u, ch.tx_count, ch.combined_count});
  }
  ::close(s);
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return make_error(errno_text("getifaddrs", errno));
  bool found = false;
  for (ifaddrs* a = list; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || dev != a->ifa_name) continue;
    const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    std::memcpy(info.addr.data(), &sin->sin_addr, 4);
    if (a->ifa_netmask) {
      const auto* m = reinterpret_cast<const sockaddr_in*>(a->ifa_netmask);
      std::memcpy(info.mask.data(), &m->sin_addr, 4);
    }
    found = true;
  }
  ::freeifaddrs(list);
  if (!found) return make_error("device " + dev + " has no IPv4 address");
  return {};
}

}  // namespace

#ifdef LSS_HAVE_XDP

struct XdpSender::Socket {
  void* area = MAP_FAILED;
  xsk_umem* umem = nullptr;
  xsk_socket* xsk = nullptr;
  xsk_ring_prod fill{}, tx{};
  xsk_ring_cons comp{};
  int fd = -1;
  bool zero_copy = false;
  std::vector<uint64_t> free;  // frame addresses not in flight
  ~Socket() {
    if (xsk) xsk_socket__delete(xsk);
    if (umem) xsk_umem__delete(umem);
    if (area != MAP_FAILED) munmap(area, size_t(kFrames) * kFrameSize);
  }
  uint8_t* frame(uint64_t addr) { return static_cast<uint8_t*>(area) + addr; }
  // One bind attempt with its own UMEM, so a failed one leaves nothing
  // behind for the next.
  bool bind(const std::string& dev, unsigned queue, uint16_t flags, std::string& why) {
    const xsk_umem_config ucfg = {
        .fill_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,  // unused (TX only) but required
        .comp_size = kFrames,                           // never full
        .frame_size = kFrameSize,
        .frame_headroom = 0,
        .flags = 0,
    };
    if (int r = xsk_umem__create(&umem, area, uint64_t(kFrames) * kFrameSize, &fill, &comp, &ucfg);
        r != 0) {
      why = errno_text("xsk_umem__create", -r);
      umem = nullptr;
      return false;
    }
    xsk_socket_config scfg{};
    scfg.rx_size = 0;
    scfg.tx_size = kTxRing;
    scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // TX only: no program
    scfg.xdp_flags = 0;
    scfg.bind_flags = flags;
    if (int r = xsk_socket__create(&xsk, dev.c_str(), queue, umem, nullptr, &tx, &scfg); r != 0) {
      why = errno_text("bind", -r);
      xsk = nullptr;
      xsk_umem__delete(umem);
      umem = nullptr;
      return false;
    }
    return true;
  }
};

XdpSender::XdpSender() = default;
XdpSender::~XdpSender() = default;

bool XdpSender::built_in() {
  return true;
}

lss::Status XdpSender::open(const std::string& device, unsigned queue_hint, uint16_t port) {
  DeviceInfo info;
  if (auto st = device_info(device, info); !st) return st;
  device_ = device;
  port_ = port;
  mac_ = info.mac;
  mtu_ = info.mtu ? info.mtu : 1500;
  addr_ = info.addr;
  queue_ = queue_hint % info.tx_queues;
  auto s = std::make_unique<Socket>();
  s->area = mmap(nullptr, size_t(kFrames) * kFrameSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (s->area == MAP_FAILED) return make_error(errno_text("mmap UMEM", errno));
  // Zero-copy needs the driver's support; copy mode works on any device.
  std::string zc_why, copy_why;
  if (s->bind(device, queue_, XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP, zc_why)) {
    s->zero_copy = true;
  } else if (!s->bind(device, queue_, XDP_COPY, copy_why)) {
    return make_error("AF_XDP socket on " + device + " queue " + std::to_string(queue_) +
                      ": zero-copy " + zc_why + "; copy " + copy_why);
  }
  s->fd = xsk_socket__fd(s->xsk);
  xdp_options opts{};
  socklen_t len = sizeof opts;
  if (getsockopt(s->fd, SOL_XDP, XDP_OPTIONS, &opts, &len) == 0) {
    s->zero_copy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
  }
  if (!s->zero_copy) {
    // Copy mode charges each frame's skb to the send buffer until the
    // device frees it; one sendto() transmits 32 frames unless allowed more
    // (XDP_MAX_TX_SKB_BUDGET, 6.17+).
    const int size = 16 << 20;
    if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
      setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    const unsigned budget = 512;
    setsockopt(s->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof budget);
  }
  s->free.reserve(kFrames);
  for (uint32_t i = kFrames; i-- > 0;) s->free.push_back(uint64_t(i) * kFrameSize);
  socket_ = std::move(s);
  load_routes();
  load_neighbours();
  last_refresh_ = Clock::now();
  return {};
}

std::string XdpSender::describe() const {
  if (!socket_) return "closed";
  return device_ + " queue " + std::to_string(queue_) +
         (socket_->zero_copy ? ", zero-copy" : ", copy mode");
}

void XdpSender::reap() {
  Socket& s = *socket_;
  uint32_t idx;
  const uint32_t n = xsk_ring_cons__peek(&s.comp, kFrames, &idx);
  for (uint32_t i = 0; i < n; ++i) s.free.push_back(*xsk_ring_cons__comp_addr(&s.comp, idx + i));
  if (n) xsk_ring_cons__release(&s.comp, n);
}

// Copy mode: each sendto() transmits up to its budget of descriptors;
// again until the ring is empty, a bounded number of times when the device
// is busy (EAGAIN; EBUSY: a frame dropped, it still completes). Zero-copy:
// wakes the driver when it asks to be.
bool XdpSender::kick() {
  Socket& s = *socket_;
  if (s.zero_copy) {
    if (xsk_ring_prod__needs_wakeup(&s.tx)) sendto(s.fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0);
    return true;
  }
  for (int tries = 0; tries < 64; ++tries) {
    if (__atomic_load_n(s.tx.consumer, __ATOMIC_ACQUIRE) == *s.tx.producer) return true;
    if (sendto(s.fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) continue;
    const int err = errno;
    if (err != EAGAIN && err != EBUSY && err != ENOBUFS) return false;
    ++kick_retries_;
    reap();
  }
  return false;
}

bool XdpSender::take(uint64_t& addr) {
  Socket& s = *socket_;
  if (s.free.empty()) reap();
  if (s.free.empty()) return false;
  addr = s.free.back();
  s.free.pop_back();
  return true;
}

bool XdpSender::add(const msghdr& h) {
  if (!socket_ || !h.msg_name || h.msg_iovlen == 0) return false;
  const size_t n = h.msg_iovlen;
  xdp::Udp4Frame f;
  const auto* sa = static_cast<const sockaddr*>(h.msg_name);
  if (sa->sa_family == AF_INET && h.msg_namelen >= sizeof(sockaddr_in)) {
    const auto* s4 = static_cast<const sockaddr_in*>(h.msg_name);
    std::memcpy(f.dst_ip.data(), &s4->sin_addr, 4);
    f.dst_port = ntohs(s4->sin_port);
  } else if (sa->sa_family == AF_INET6 && h.msg_namelen >= sizeof(sockaddr_in6)) {
    const auto* s6 = static_cast<const sockaddr_in6*>(h.msg_name);
    if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
      refused_ += n;  // IPv6: the socket
      return false;
    }
    std::memcpy(f.dst_ip.data(), s6->sin6_addr.s6_addr + 12, 4);
    f.dst_port = ntohs(s6->sin6_port);
  } else {
    refused_ += n;
    return false;
  }
  xdp::Ipv4 hop;
  if (!routes_.next_hop(f.dst_ip, hop)) {
    refused_ += n;  // not through this device: the kernel's
    return false;
  }
  const auto nb = neighbours_.find(as_u32(hop));
  if (nb == neighbours_.end()) {
    missed_ = true;  // the socket's send makes the kernel resolve it
    refused_ += n;
    return false;
  }
  f.dst_mac = nb->second;
  f.src_mac = mac_;
  f.src_ip = addr_;
  f.src_port = port_;
  // The local address the worker answers this peer from (IP_PKTINFO).
  auto& mh = const_cast<msghdr&>(h);  // the CMSG macros take no const
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      std::memcpy(f.src_ip.data(), &info.ipi_spec_dst, 4);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      if (IN6_IS_ADDR_V4MAPPED(&info.ipi6_addr)) {
        std::memcpy(f.src_ip.data(), info.ipi6_addr.s6_addr + 12, 4);
      }
    }
  }
  for (size_t k = 0; k < n; ++k) {
    const size_t len = h.msg_iov[k].iov_len;
    if (len + xdp::kIpv4Header + xdp::kUdpHeader > mtu_ || len + xdp::kHeaders > kFrameSize) {
      refused_ += n;
      return false;
    }
  }
  Socket& s = *socket_;
  if (s.free.size() < n) reap();
  if (s.free.size() < n) {
    kick();
    reap();
  }
  uint32_t idx;
  if (s.free.size() < n || xsk_ring_prod__reserve(&s.tx, uint32_t(n), &idx) != n) {
    kick();  // room for the next one
    refused_ += n;
    return false;
  }
  for (size_t k = 0; k < n; ++k) {
    uint64_t addr;
    take(addr);
    f.ip_id = ip_id_++;
    const auto* payload = static_cast<const uint8_t*>(h.msg_iov[k].iov_base);
    const size_t len =
        xdp::build_udp4_frame(s.frame(addr), kFrameSize, f, payload, h.msg_iov[k].iov_len);
    *xsk_ring_prod__tx_desc(&s.tx, idx + uint32_t(k)) = {addr, uint32_t(len), 0};
  }
  xsk_ring_prod__submit(&s.tx, uint32_t(n));
  queued_ += uint32_t(n);
  return true;
}

size_t XdpSender::flush() {
  if (!socket_) return 0;
  const size_t sent = queued_;
  if (sent) kick();
  queued_ = 0;
  frames_sent_ += sent;
  reap();
  return sent;
}

#else  // without libxdp

struct XdpSender::Socket {};

XdpSender::XdpSender() = default;
XdpSender::~XdpSender() = default;

bool XdpSender::built_in() {
  return false;
}

lss::Status XdpSender::open(const std::string&, unsigned, uint16_t) {
  return make_error("the server was built without libxdp");
}

std::string XdpSender::describe() const {
  return "closed";
}

bool XdpSender::add(const msghdr& h) {
  refused_ += h.msg_iovlen;
  return false;
}

size_t XdpSender::flush() {
  return 0;
}

void XdpSender::reap() {}
bool XdpSender::kick() {
  return false;
}
bool XdpSender::take(uint64_t&) {
  return false;
}

#endif

void XdpSender::refresh(Timestamp now) {
  if (!socket_) return;
  const Duration since = now - last_refresh_;
  if (since < kRefreshEvery && !(missed_ && since >= kRefreshAfterMiss)) return;
  last_refresh_ = now;
  missed_ = false;
  load_routes();
  load_neighbours();
}

void XdpSender::load_routes() {
  std::ifstream in("/proc/net/route");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<xdp::Ipv4> locals;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a; a = a->ifa_next) {
      if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
      xdp::Ipv4 ip;
      std::memcpy(ip.data(), &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
      locals.push_back(ip);
    }
    ::freeifaddrs(list);
  }
  routes_.assign(xdp::parse_proc_net_route(text.str()), device_, locals);
}

void XdpSender::load_neighbours() {
  std::ifstream in("/proc/net/arp");
  std::stringstream text;
  text << in.rdbuf();
  std::unordered_map<uint32_t, xdp::Mac, Ipv4Hash> table;
  for (const auto& n : xdp::parse_proc_net_arp(text.str(), device_)) table[as_u32(n.ip)] = n.mac;
  neighbours_.swap(table);
}

}  // namespace lss::net
