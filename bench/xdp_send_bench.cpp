// Micro benchmark of an AF_XDP transmit path for the media fan-out, against
// the UDP GSO sendmmsg path the server uses (SEND_PATH=auto), measured toward
// the same device by bench/run-xdp-send: 500 viewers, B 1200-byte datagrams each per
// iteration (B is the argument). The question is whether building the frames
// ourselves and handing them to the device through an AF_XDP socket's TX ring
// costs less CPU per datagram than the kernel's UDP send path with GSO.
// Rows:
//  - XdpTx: per datagram, the viewer's prebuilt Ethernet + IPv4 + UDP header
//    is copied into a UMEM frame, the IPv4 id and header checksum are set,
//    the 1200-byte payload is copied in after it; UDP checksum 0 (allowed for
//    IPv4). Descriptors go on the TX ring 64 at a time, one sendto() kick per
//    batch, completions reaped as frames are needed again;
//  - XdpTxUdpCsum: the same, the UDP checksum computed in software (IPv6
//    requires one; asking the device for it takes AF_XDP TX metadata, kernel
//    6.8+ and libxdp 1.4+, newer than Debian 12's libxdp 1.3);
//  - XdpTxHeadersOnly: the payload copy left out, as when SRTP encrypts
//    straight into the UMEM frame: the cost of the path alone;
// The reference, GsoSendmmsg (a UDP_SEGMENT message of B datagrams per
// viewer, 64 per sendmmsg), is bench/send_path_bench.cpp's row: bench/run-xdp-send
// runs it right after these, toward the same device in the same namespace.
// Items are datagrams. Time is process CPU time, since the kernel may do TX
// work outside the calling thread (softirq, ksoftirqd, a zero-copy driver's
// NAPI poll); wall time is the Time column.
//
// The AF_XDP socket binds to queue 0 of LSS_BENCH_XDP_DEV, TX only, with no
// XDP program (XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD: a program is only needed
// to receive). Zero-copy is tried first, then copy mode; the label says which.
// Frames go from LSS_BENCH_XDP_SRC and the device's MAC to LSS_BENCH_TUN_DEST,
// UDP ports 20000 + i, at LSS_BENCH_XDP_DMAC. bench/run-xdp-send sets these
// up in a private network namespace (veth v0 -> v1, v1 dropping at ingress;
// optionally an ifb device, which frees what it is given: the send side alone).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9  // linux/if_xdp.h since 6.17; Debian 12's headers lack it
#endif

namespace {

constexpr int kViewers = 500;
constexpr size_t kDatagram = 1200;
constexpr int kBatch = 64;  // descriptors per AF_XDP kick, as messages per sendmmsg
constexpr int kMaxBurst = 16;

constexpr size_t kEth = 14, kIp = 20, kUdp = 8;
constexpr size_t kHeaders = kEth + kIp + kUdp;
constexpr size_t kFrameLen = kHeaders + kDatagram;
constexpr uint32_t kFrames = 4096;     // UMEM frames
constexpr uint32_t kFrameSize = 2048;  // bytes each: one datagram per frame
constexpr uint32_t kTxRing = 2048;
constexpr uint32_t kCompRing = kFrames;  // never full: every frame fits in it

uint8_t g_payload[kMaxBurst][kDatagram];  // the burst's packets

// ---------------------------------------------------------------------------
// Checksums. The ones' complement sum does not depend on byte order (RFC
// 1071), so the bytes are summed as native 64-bit words and the folded result
// stored as is: it lands in network order.

inline uint64_t add_carry(uint64_t acc, uint64_t w) {
  acc += w;
  return acc + (acc < w);  // end-around carry
}

// Sum of n bytes (n even) into acc; two accumulators so the adds overlap.
uint64_t sum_bytes(const uint8_t* p, size_t n, uint64_t acc) {
  uint64_t acc2 = 0;
  for (; n >= 16; p += 16, n -= 16) {
    uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    acc = add_carry(acc, a);
    acc2 = add_carry(acc2, b);
  }
  for (; n >= 2; p += 2, n -= 2) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    acc = add_carry(acc, h);
  }
  return add_carry(acc, acc2);
}

inline uint16_t fold(uint64_t acc) {
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  return uint16_t(~acc);
}

// ---------------------------------------------------------------------------
// The AF_XDP socket. One for the whole process, opened by the first XDP row:
// a socket's release frees its UMEM pool on a workqueue, so binding a new one
// to the same queue right after closing the last can fail with EBUSY.

struct Xsk {
  std::string error;  // why it could not be opened; empty once open
  std::string mode;   // for the label
  bool zero_copy = false;
  void* area = MAP_FAILED;
  xsk_umem* umem = nullptr;
  xsk_socket* xsk = nullptr;
  xsk_ring_prod fill{}, tx{};
  xsk_ring_cons comp{};
  int fd = -1;
  std::vector<uint64_t> free;  // frame addresses not in flight
  // Per viewer, its frame's first kHeaders bytes (IPv4 id and checksum 0).
  std::vector<std::array<uint8_t, kHeaders>> header;
  uint16_t ip_id = 0;
  // Counts over the current run.
  int64_t kicks = 0, retries = 0, dropped = 0, waits = 0;

  ~Xsk() { close(); }
  void close() {
    if (xsk) xsk_socket__delete(xsk);
    if (umem) xsk_umem__delete(umem);
    if (area != MAP_FAILED) munmap(area, size_t(kFrames) * kFrameSize);
    xsk = nullptr;
    umem = nullptr;
    area = MAP_FAILED;
  }
  uint8_t* frame(uint64_t addr) { return static_cast<uint8_t*>(area) + addr; }

  bool open();
  bool build_headers(const char* dev);
  bool try_bind(const char* dev, uint16_t bind_flags, std::string& why);
  void reap();
  bool kick();
  bool take(uint64_t& addr);
  bool send(const xdp_desc* d, uint32_t n);
  bool drain();
};

Xsk& xsk() {
  static Xsk x;
  [[maybe_unused]] static const bool opened = x.open();
  return x;
}

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// One bind attempt with its own UMEM, so a failed attempt leaves nothing set
// up on the UMEM's socket for the next one to trip over.
bool Xsk::try_bind(const char* dev, uint16_t bind_flags, std::string& why) {
  const xsk_umem_config ucfg = {
      .fill_size = kTxRing,  // unused (TX only) but the kernel wants one
      .comp_size = kCompRing,
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
  scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
  scfg.xdp_flags = 0;
  scfg.bind_flags = bind_flags;
  if (int r = xsk_socket__create(&xsk, dev, 0, umem, nullptr, &tx, &scfg); r != 0) {
    why = errno_text("bind", -r);
    xsk = nullptr;
    xsk_umem__delete(umem);
    umem = nullptr;
    return false;
  }
  return true;
}

bool Xsk::open() {
  const char* dev = std::getenv("LSS_BENCH_XDP_DEV");
  if (!dev || !*dev) {
    error = "LSS_BENCH_XDP_DEV not set (run through bench/run-xdp-send as root)";
    return false;
  }
  if (!build_headers(dev)) return false;
  area = mmap(nullptr, size_t(kFrames) * kFrameSize, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (area == MAP_FAILED) {
    error = errno_text("mmap UMEM", errno);
    return false;
  }
  // Zero-copy needs driver support (the driver DMAs from UMEM); copy mode
  // works on any device: the kernel builds an skb per descriptor and hands it
  // to the driver directly (__dev_direct_xmit, no qdisc).
  std::string zc_why, copy_why;
  if (try_bind(dev, XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP, zc_why)) {
    zero_copy = true;
  } else if (!try_bind(dev, XDP_COPY, copy_why)) {
    error = "AF_XDP cannot bind to " + std::string(dev) + " queue 0: zero-copy " + zc_why +
            "; copy " + copy_why + " (kernel without CONFIG_XDP_SOCKETS, or not root?)";
    return false;
  }
  fd = xsk_socket__fd(xsk);
  // Confirm what the kernel chose.
  xdp_options opts{};
  socklen_t len = sizeof opts;
  if (getsockopt(fd, SOL_XDP, XDP_OPTIONS, &opts, &len) == 0)
    zero_copy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
  if (zero_copy) {
    mode = "zero-copy";
  } else {
    mode = "copy (zero-copy: " + zc_why + ")";
    // In copy mode each skb is charged to the socket's send buffer until the
    // device frees it: make room, as the UDP rows do, so the rows measure
    // the send path, not waiting for space.
    const int size = 16 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    // One sendto() handles at most 32 descriptors in copy mode unless told
    // otherwise (XDP_MAX_TX_SKB_BUDGET, kernel 6.17+): let a kick take the
    // whole batch, as one sendmmsg takes 64 messages.
    const unsigned budget = kBatch;
    if (setsockopt(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof budget) == 0)
      mode += ", budget " + std::to_string(kBatch) + "/sendto";
    else
      mode += ", budget 32/sendto (" + errno_text("XDP_MAX_TX_SKB_BUDGET", errno) + ")";
  }
  for (uint32_t i = kFrames; i-- > 0;) free.push_back(uint64_t(i) * kFrameSize);
  return true;
}

// The viewers' headers: addresses from the environment, source MAC from the
// device. Built once, as the server would keep one per viewer.
bool Xsk::build_headers(const char* dev) {
  const char* src = std::getenv("LSS_BENCH_XDP_SRC");
  const char* dst = std::getenv("LSS_BENCH_TUN_DEST");
  const char* dmac = std::getenv("LSS_BENCH_XDP_DMAC");
  in_addr saddr{}, daddr{};
  if (!src || inet_pton(AF_INET, src, &saddr) != 1 || !dst ||
      inet_pton(AF_INET, dst, &daddr) != 1) {
    error = "LSS_BENCH_XDP_SRC / LSS_BENCH_TUN_DEST not set to IPv4 addresses";
    return false;
  }
  uint8_t dst_mac[6], src_mac[6];
  if (!dmac || std::sscanf(dmac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dst_mac[0], &dst_mac[1],
                           &dst_mac[2], &dst_mac[3], &dst_mac[4], &dst_mac[5]) != 6) {
    error = "LSS_BENCH_XDP_DMAC not set to a MAC address";
    return false;
  }
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  const bool ok = s >= 0 && ioctl(s, SIOCGIFHWADDR, &ifr) == 0;
  const int err = errno;
  if (s >= 0) ::close(s);
  if (!ok) {
    error = errno_text((std::string("SIOCGIFHWADDR ") + dev).c_str(), err);
    return false;
  }
  std::memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
  header.resize(kViewers);
  for (int v = 0; v < kViewers; ++v) {
    uint8_t* h = header[v].data();
    std::memcpy(h, dst_mac, 6);
    std::memcpy(h + 6, src_mac, 6);
    h[12] = 0x08, h[13] = 0x00;  // IPv4
    uint8_t* ip = h + kEth;
    ip[0] = 0x45;  // version 4, 20-byte header
    ip[1] = 0;
    const uint16_t tot = htons(uint16_t(kIp + kUdp + kDatagram));
    std::memcpy(ip + 2, &tot, 2);
    ip[4] = ip[5] = 0;        // id: per datagram
    ip[6] = 0x40, ip[7] = 0;  // DF, as Linux sends UDP with PMTU discovery on
    ip[8] = 64, ip[9] = 17;   // TTL, UDP
    ip[10] = ip[11] = 0;      // checksum: per datagram
    std::memcpy(ip + 12, &saddr, 4);
    std::memcpy(ip + 16, &daddr, 4);
    uint8_t* udp = ip + kIp;
    const uint16_t sport = htons(40000), dport = htons(uint16_t(20000 + v));
    const uint16_t ulen = htons(uint16_t(kUdp + kDatagram));
    std::memcpy(udp, &sport, 2);
    std::memcpy(udp + 2, &dport, 2);
    std::memcpy(udp + 4, &ulen, 2);
    udp[6] = udp[7] = 0;  // checksum 0: none (IPv4 only)
  }
  return true;
}

// Frames the kernel is done with go back on the free list.
void Xsk::reap() {
  uint32_t idx;
  const uint32_t n = xsk_ring_cons__peek(&comp, kCompRing, &idx);
  for (uint32_t i = 0; i < n; ++i) free.push_back(*xsk_ring_cons__comp_addr(&comp, idx + i));
  if (n) xsk_ring_cons__release(&comp, n);
}

// Tells the kernel about the TX ring. In copy mode sendto() transmits the
// descriptors itself, a budget's worth per call: call again until the ring is
// empty. EAGAIN (budget spent, device busy, no skb memory) and EBUSY (the
// driver dropped one: its frame still completes) are retried and counted.
// In zero-copy mode it only wakes the driver's NAPI poll, when it asks to be.
bool Xsk::kick() {
  if (zero_copy) {
    if (!xsk_ring_prod__needs_wakeup(&tx)) return true;
    ++kicks;
    if (sendto(fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 && errno != EAGAIN && errno != EBUSY &&
        errno != ENOBUFS && errno != ENETDOWN) {
      error = errno_text("sendto (kick)", errno);
      return false;
    }
    return true;
  }
  for (int tries = 0;; ++tries) {
    if (__atomic_load_n(tx.consumer, __ATOMIC_ACQUIRE) == *tx.producer) return true;
    ++kicks;
    if (sendto(fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) continue;
    const int err = errno;
    if (err != EAGAIN && err != EBUSY && err != ENOBUFS) {
      error = errno_text("sendto (kick)", err);
      return false;
    }
    ++retries;
    if (err == EBUSY) ++dropped;
    reap();
    if (tries > 1000000) {
      error = errno_text("sendto (kick) makes no progress", err);
      return false;
    }
  }
}

// A free frame, waiting for completions if every frame is in flight.
bool Xsk::take(uint64_t& addr) {
  for (int tries = 0; free.empty(); ++tries) {
    reap();
    if (!free.empty()) break;
    ++waits;
    if (!kick()) return false;
    if (tries > 1000) sched_yield();  // the device frees them (softirq) elsewhere
    if (tries > 10000000) {
      error = "no UMEM frame completed";
      return false;
    }
  }
  addr = free.back();
  free.pop_back();
  return true;
}

// Puts n descriptors on the TX ring (waiting for room), kicks, reaps.
bool Xsk::send(const xdp_desc* d, uint32_t n) {
  uint32_t idx;
  for (int tries = 0; xsk_ring_prod__reserve(&tx, n, &idx) != n; ++tries) {
    if (!kick()) return false;
    reap();
    if (tries > 10000000) {
      error = "TX ring stays full";
      return false;
    }
  }
  for (uint32_t i = 0; i < n; ++i) *xsk_ring_prod__tx_desc(&tx, idx + i) = d[i];
  xsk_ring_prod__submit(&tx, n);
  if (!kick()) return false;
  reap();
  return true;
}

// After a run: everything sent and completed, so the next run starts clean.
bool Xsk::drain() {
  for (int tries = 0; free.size() < kFrames; ++tries) {
    if (!kick()) return false;
    reap();
    if (tries > 1000) sched_yield();
    if (tries > 10000000) {
      error = "frames never completed";
      return false;
    }
  }
  return true;
}

enum class Fill { kPayload, kPayloadUdpCsum, kHeadersOnly };

// Writes viewer v's datagram p of the burst into frame f.
inline void build(Xsk& x, uint8_t* f, int v, int p, Fill fill) {
  std::memcpy(f, x.header[size_t(v)].data(), kHeaders);
  uint8_t* ip = f + kEth;
  const uint16_t id = htons(x.ip_id++);
  std::memcpy(ip + 4, &id, 2);
  const uint16_t ip_sum = fold(sum_bytes(ip, kIp, 0));
  std::memcpy(ip + 10, &ip_sum, 2);
  if (fill == Fill::kHeadersOnly) return;
  uint8_t* udp = ip + kIp;
  std::memcpy(udp + kUdp, g_payload[p], kDatagram);
  if (fill == Fill::kPayloadUdpCsum) {
    // Pseudo header: the addresses (as they are in the IPv4 header), the
    // protocol and the UDP length, each in network order.
    uint64_t acc = sum_bytes(ip + 12, 8, 0);
    acc = add_carry(acc, htons(17));
    acc = add_carry(acc, htons(uint16_t(kUdp + kDatagram)));
    uint16_t sum = fold(sum_bytes(udp, kUdp + kDatagram, acc));
    if (sum == 0) sum = 0xffff;  // 0 would mean "no checksum"
    std::memcpy(udp + 6, &sum, 2);
  }
}

void xdp_tx(benchmark::State& state, Fill fill) {
  Xsk& x = xsk();
  if (!x.error.empty() || !x.xsk) {
    state.SkipWithError(x.error.empty() ? "AF_XDP socket not open" : x.error.c_str());
    return;
  }
  const int burst = int(state.range(0));
  x.kicks = x.retries = x.dropped = x.waits = 0;
  xdp_desc batch[kBatch];
  bool ok = true;
  for (auto _ : state) {
    uint32_t n = 0;
    for (int v = 0; ok && v < kViewers; ++v) {
      for (int p = 0; ok && p < burst; ++p) {
        uint64_t addr;
        if (!(ok = x.take(addr))) break;
        build(x, x.frame(addr), v, p, fill);
        batch[n++] = {addr, uint32_t(kFrameLen), 0};
        if (n == kBatch) {
          ok = x.send(batch, n);
          n = 0;
        }
      }
    }
    if (ok && n) ok = x.send(batch, n);
    if (!ok) break;
  }
  if (ok) ok = x.drain();
  if (!ok) {
    state.SkipWithError(x.error.c_str());
    return;
  }
  xdp_statistics st{};
  socklen_t len = sizeof st;
  if (getsockopt(x.fd, SOL_XDP, XDP_STATISTICS, &st, &len) == 0 && st.tx_invalid_descs) {
    state.SkipWithError("the kernel rejected TX descriptors (tx_invalid_descs)");
    return;
  }
  const int64_t datagrams = state.iterations() * kViewers * burst;
  state.SetItemsProcessed(datagrams);
  const double d = datagrams ? double(datagrams) : 1;
  state.counters["kicks"] = double(x.kicks) / d;      // sendto() per datagram
  state.counters["retries"] = double(x.retries) / d;  // kicks that stopped early
  state.counters["dropped"] = double(x.dropped) / d;  // fraction the driver refused
  state.counters["waits"] = double(x.waits) / d;      // out of free frames
  state.SetLabel(x.mode);
}

void BM_XdpTx(benchmark::State& state) {
  xdp_tx(state, Fill::kPayload);
}
void BM_XdpTxUdpCsum(benchmark::State& state) {
  xdp_tx(state, Fill::kPayloadUdpCsum);
}
void BM_XdpTxHeadersOnly(benchmark::State& state) {
  xdp_tx(state, Fill::kHeadersOnly);
}

// Process CPU time: copy-mode AF_XDP and the UDP path do their work in the
// sending thread, but the device's receive side (here v1's ingress drop) and
// a zero-copy driver's TX run in softirq, possibly in ksoftirqd.
#define SEND_PATH(bm) \
  BENCHMARK(bm)->RangeMultiplier(2)->Range(1, kMaxBurst)->MeasureProcessCPUTime()
SEND_PATH(BM_XdpTx);
SEND_PATH(BM_XdpTxUdpCsum);
SEND_PATH(BM_XdpTxHeadersOnly);

// Payload bytes that are not all zero, so the UDP checksum sums something.
[[maybe_unused]] const bool g_payload_filled = [] {
  for (int p = 0; p < kMaxBurst; ++p)
    for (size_t i = 0; i < kDatagram; ++i) g_payload[p][i] = uint8_t(i * 31 + p * 7 + 1);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
