// SEND_PATH=xdp: the frames XdpSender builds (decoded back: MACs,
// addresses, lengths, the IPv4 checksum, the payload), the neighbour table
// it reads (/proc/net/arp's text), the worker's fallback to sendmmsg where
// no AF_XDP socket can be made, and (root only) a MediaWorker sending
// through AF_XDP on one end of a veth pair to UDP sockets in another
// network namespace at the far end, every datagram whole and in order.
#include "net/xdp_sender.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "loopback_receiver.hpp"
#include "net/media_worker.hpp"

namespace lss::net {
namespace {

uint16_t get16(const uint8_t* p) {
  return uint16_t(p[0] << 8 | p[1]);
}

TEST(XdpFrame, Ipv4ChecksumMatchesAKnownHeader) {
  // A header with its checksum field zero, and the checksum it must get.
  const uint8_t header[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                              0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(xdp::ipv4_checksum(header, sizeof header), 0xb861);
  uint8_t with[20];
  std::memcpy(with, header, 20);
  with[10] = 0xb8, with[11] = 0x61;
  EXPECT_EQ(xdp::ipv4_checksum(with, sizeof with), 0);  // a valid header sums to 0
}

TEST(XdpFrame, HeadersDecodeBackToWhatWasAsked) {
  xdp::Udp4Frame f;
  f.src_mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  f.dst_mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  f.src_ip = {10, 77, 0, 1};
  f.dst_ip = {10, 77, 0, 2};
  f.src_port = 40000;
  f.dst_port = 51234;
  f.ip_id = 0xbeef;
  std::vector<uint8_t> payload(1201);  // odd: the checksum covers the header only
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 7 + 3);
  std::vector<uint8_t> frame(2048, 0xcc);
  const size_t len =
      xdp::build_udp4_frame(frame.data(), frame.size(), f, payload.data(), payload.size());
  ASSERT_EQ(len, 14 + 20 + 8 + payload.size());
  const uint8_t* eth = frame.data();
  EXPECT_TRUE(std::equal(f.dst_mac.begin(), f.dst_mac.end(), eth));
  EXPECT_TRUE(std::equal(f.src_mac.begin(), f.src_mac.end(), eth + 6));
  EXPECT_EQ(get16(eth + 12), 0x0800);
  const uint8_t* ip = eth + 14;
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(get16(ip + 2), 20 + 8 + payload.size());
  EXPECT_EQ(get16(ip + 4), 0xbeef);
  EXPECT_EQ(get16(ip + 6), 0x4000);  // DF, no fragment offset
  EXPECT_EQ(ip[8], 64);
  EXPECT_EQ(ip[9], IPPROTO_UDP);
  EXPECT_EQ(xdp::ipv4_checksum(ip, 20), 0) << "header checksum";
  EXPECT_NE(get16(ip + 10), 0);
  EXPECT_TRUE(std::equal(f.src_ip.begin(), f.src_ip.end(), ip + 12));
  EXPECT_TRUE(std::equal(f.dst_ip.begin(), f.dst_ip.end(), ip + 16));
  const uint8_t* udp = ip + 20;
  EXPECT_EQ(get16(udp), 40000);
  EXPECT_EQ(get16(udp + 2), 51234);
  EXPECT_EQ(get16(udp + 4), 8 + payload.size());
  EXPECT_EQ(get16(udp + 6), 0);  // no UDP checksum (IPv4)
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), udp + 8));
  EXPECT_EQ(frame[len], 0xcc) << "nothing written past the frame";
}

TEST(XdpFrame, TooSmallABufferBuildsNothing) {
  xdp::Udp4Frame f;
  std::vector<uint8_t> payload(100, 1);
  std::vector<uint8_t> frame(141, 0xcc);  // one byte short
  EXPECT_EQ(xdp::build_udp4_frame(frame.data(), frame.size(), f, payload.data(), payload.size()),
            0u);
  EXPECT_EQ(std::count(frame.begin(), frame.end(), 0xcc), 141);
  frame.resize(142);  // room for it all
  EXPECT_EQ(xdp::build_udp4_frame(frame.data(), frame.size(), f, payload.data(), payload.size()),
            142u);
}

TEST(XdpNeighbours, ProcNetArpGivesTheDevicesResolvedEntries) {
  const char* text =
      "IP address       HW type     Flags       HW address            Mask     Device\n"
      "10.77.0.2        0x1         0x2         aa:bb:cc:dd:ee:0f     *        v0\n"
      "10.77.0.3        0x1         0x0         00:00:00:00:00:00     *        v0\n"
      "10.77.0.4        0x1         0x6         02:AB:CD:EF:01:23     *        v0\n"
      "192.168.1.1      0x1         0x2         11:22:33:44:55:66     *        eth0\n"
      "10.77.0.9        0x1         0x2         not-a-mac             *        v0\n"
      "garbage\n"
      "10.77.0.5        0x1         0x2         00:00:00:00:00:00     *        v0\n";
  const auto v0 = xdp::parse_proc_net_arp(text, "v0");
  ASSERT_EQ(v0.size(), 2u);
  EXPECT_EQ(v0[0].ip, (xdp::Ipv4{10, 77, 0, 2}));
  EXPECT_EQ(v0[0].mac, (xdp::Mac{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f}));
  EXPECT_EQ(v0[1].ip, (xdp::Ipv4{10, 77, 0, 4}));  // permanent (0x6) counts too
  EXPECT_EQ(v0[1].mac, (xdp::Mac{0x02, 0xab, 0xcd, 0xef, 0x01, 0x23}));
  const auto eth0 = xdp::parse_proc_net_arp(text, "eth0");
  ASSERT_EQ(eth0.size(), 1u);
  EXPECT_EQ(eth0[0].ip, (xdp::Ipv4{192, 168, 1, 1}));
  EXPECT_TRUE(xdp::parse_proc_net_arp(text, "v1").empty());
  EXPECT_TRUE(xdp::parse_proc_net_arp("", "v0").empty());
}

// 192.0.2.0/24 on eth0 (the default route's gateway 192.0.2.1 there),
// 10.77.0.0/24 on v0, 10.77.5.0/24 via 10.77.0.254 on v0, 10.77.0.128/25
// on v1 (more specific than v0's /24), a rejected route.
const char* kRoutes =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "v0\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "v0\t00054D0A\tFE004D0A\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "v1\t80004D0A\t00000000\t0001\t0\t0\t0\t80FFFFFF\t0\t0\t0\n"
    "v0\t00094D0A\t00000000\t0201\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

TEST(XdpRoutes, ProcNetRouteParses) {
  const auto routes = xdp::parse_proc_net_route(kRoutes);
  ASSERT_EQ(routes.size(), 5u);  // the header and the rejected route left out
  EXPECT_EQ(routes[0].device, "eth0");
  EXPECT_EQ(routes[0].dst, (xdp::Ipv4{0, 0, 0, 0}));
  EXPECT_EQ(routes[0].gateway, (xdp::Ipv4{192, 0, 2, 1}));
  EXPECT_TRUE(routes[0].via_gateway);
  EXPECT_EQ(routes[0].metric, 100u);
  EXPECT_EQ(routes[1].dst, (xdp::Ipv4{192, 0, 2, 0}));
  EXPECT_EQ(routes[1].mask, (xdp::Ipv4{255, 255, 255, 0}));
  EXPECT_FALSE(routes[1].via_gateway);
  EXPECT_EQ(routes[3].gateway, (xdp::Ipv4{10, 77, 0, 254}));
  EXPECT_EQ(routes[4].mask, (xdp::Ipv4{255, 255, 255, 128}));
}

TEST(XdpRoutes, NextHopIsTheDestinationOrTheGatewayOfTheDevicesRoutes) {
  const auto routes = xdp::parse_proc_net_route(kRoutes);
  xdp::RouteTable v0;
  v0.assign(routes, "v0", {{10, 77, 0, 1}, {192, 0, 2, 2}});
  xdp::Ipv4 hop{};
  ASSERT_TRUE(v0.next_hop({10, 77, 0, 2}, hop));  // on the link
  EXPECT_EQ(hop, (xdp::Ipv4{10, 77, 0, 2}));
  ASSERT_TRUE(v0.next_hop({10, 77, 5, 9}, hop));  // through a gateway on v0
  EXPECT_EQ(hop, (xdp::Ipv4{10, 77, 0, 254}));
  EXPECT_FALSE(v0.next_hop({10, 77, 0, 200}, hop)) << "v1's more specific route";
  EXPECT_FALSE(v0.next_hop({10, 77, 0, 1}, hop)) << "our own address";
  EXPECT_FALSE(v0.next_hop({10, 77, 0, 255}, hop)) << "the subnet's broadcast";
  EXPECT_FALSE(v0.next_hop({8, 8, 8, 8}, hop)) << "the default route is eth0's";
  EXPECT_FALSE(v0.next_hop({127, 0, 0, 1}, hop));
  EXPECT_FALSE(v0.next_hop({239, 1, 1, 1}, hop));
  xdp::RouteTable eth0;
  eth0.assign(routes, "eth0", {{192, 0, 2, 2}});
  ASSERT_TRUE(eth0.next_hop({8, 8, 8, 8}, hop));
  EXPECT_EQ(hop, (xdp::Ipv4{192, 0, 2, 1}));
  ASSERT_TRUE(eth0.next_hop({192, 0, 2, 77}, hop));
  EXPECT_EQ(hop, (xdp::Ipv4{192, 0, 2, 77}));
  EXPECT_FALSE(eth0.next_hop({10, 77, 0, 2}, hop)) << "v0's";
  xdp::RouteTable none;
  EXPECT_FALSE(none.next_hop({10, 77, 0, 2}, hop));
}

TEST(XdpNeighbours, MacParsing) {
  xdp::Mac m{};
  EXPECT_TRUE(xdp::parse_mac("00:1a:2B:3c:4D:5e", m));
  EXPECT_EQ(m, (xdp::Mac{0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e}));
  EXPECT_FALSE(xdp::parse_mac("00:1a:2b:3c:4d", m));
  EXPECT_FALSE(xdp::parse_mac("00-1a-2b-3c-4d-5e", m));
  EXPECT_FALSE(xdp::parse_mac("00:1a:2b:3c:4d:5g", m));
}

TEST(XdpSenderOpen, AMissingDeviceIsAnError) {
  XdpSender s;
  const auto st = s.open("lss-no-such0", 0, 40000);
  EXPECT_FALSE(st);
  EXPECT_FALSE(s.is_open());
  msghdr h{};
  EXPECT_FALSE(s.add(h));
  EXPECT_EQ(s.flush(), 0u);
}

// Each 1-byte datagram the worker receives makes it send `sizes` to every
// viewer: datagram k of round r is filled with r * 16 + k.
struct XdpFanOut {
  XdpFanOut(const std::string& device, std::vector<size_t> sizes, std::vector<SocketAddress> to)
      : worker(0, 0) {
    worker.set_send_via(SendVia::kXdp);
    worker.set_xdp_device(device);
    ok = bool(worker.open());
    worker.set_send_shape(SendShape::kGso);
    worker.set_handlers(
        [this, sizes, to](uint8_t* data, size_t size, const SocketAddress&, Timestamp) {
          if (size != 1) return;
          for (size_t k = 0; k < sizes.size(); ++k) {
            const Bytes d(sizes[k], uint8_t(data[0] * 16 + k));
            for (const auto& v : to) worker.send(d, v);
          }
        },
        [](Timestamp) {}, std::chrono::milliseconds(20));
  }
  void trigger(uint8_t round) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(worker.port());
    sendto(fd, &round, 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    close(fd);
  }
  MediaWorker worker;
  bool ok = false;
};

const std::vector<size_t> kSizes = {1200, 1200, 1200, 640, 200, 1000, 1000, 1400};

// Where no AF_XDP socket can be made (no such device here; as non-root,
// no permission; without libxdp, not built): sendmmsg, every datagram.
TEST(MediaWorkerXdp, WithoutAnAfXdpSocketTheWorkerSendsWithSendmmsg) {
  testing::Receiver r;
  XdpFanOut w("lss-no-such0", kSizes, {r.address()});
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.worker.send_via(), SendVia::kSendmmsg);
  EXPECT_STREQ(w.worker.send_path_name(), "gso");
  w.worker.start();
  w.trigger(2);
  for (size_t k = 0; k < kSizes.size(); ++k) {
    const auto d = r.next();
    ASSERT_EQ(d.size(), kSizes[k]);
    EXPECT_EQ(std::count(d.begin(), d.end(), uint8_t(32 + k)), std::ptrdiff_t(d.size()));
  }
  EXPECT_EQ(w.worker.xdp_frames(), 0u);
}

// The veth test's exit codes (the child runs in its own network
// namespaces; gtest assertions there would not reach the parent).
enum Exit : int {
  kPass = 0,
  kNoNamespace = 10,  // skipped: unshare refused
  kNoIp = 11,         // skipped: no `ip` to make the veth pair
  kNoXdp = 12,        // skipped: AF_XDP socket refused on veth
  kSetup = 20,
  kFirstRound = 21,
  kLaterRound = 22,
  kNoFrames = 23,
  kCounts = 24,
};

// A UDP socket bound to 10.77.0.2 in the namespace it is made in.
struct FarEnd {
  explicit FarEnd(uint32_t ip) {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    bound = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  }
  ~FarEnd() { close(fd); }
  std::vector<uint8_t> next() {
    std::vector<uint8_t> buf(4096);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n =
        recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    buf.resize(n > 0 ? size_t(n) : 0);
    if (n > 0) from_ip = ntohl(from.sin_addr.s_addr), from_port = ntohs(from.sin_port);
    return buf;
  }
  int fd;
  bool bound = false;
  uint16_t port = 0;
  uint32_t from_ip = 0;
  uint16_t from_port = 0;
};

bool round_arrives(std::vector<std::unique_ptr<FarEnd>>& ends, uint8_t round, uint16_t from_port) {
  for (auto& e : ends) {
    for (size_t k = 0; k < kSizes.size(); ++k) {
      const auto d = e->next();
      const auto fill = uint8_t(round * 16 + k);
      if (d.size() != kSizes[k] || std::count(d.begin(), d.end(), fill) != std::ptrdiff_t(d.size()))
        return false;
      if (e->from_ip != 0x0a4d0001 || e->from_port != from_port) return false;
    }
  }
  return true;
}

int run(const char* cmd) {
  return std::system((std::string(cmd) + " >/dev/null 2>&1").c_str());
}

// Namespace A: the worker, v0 (10.77.0.1/24). Namespace B: v1
// (10.77.0.2/24) and two UDP sockets. The first round finds no neighbour
// entry for 10.77.0.2: it goes through the socket (which makes the kernel
// resolve it); once the worker has read the table again, the rounds go as
// AF_XDP frames, and arrive at B's sockets whole, in order, from the
// worker's address and port.
[[noreturn]] void veth_child() {
  if (unshare(CLONE_NEWNET) != 0) _exit(kNoNamespace);
  const int ns_a = open("/proc/self/ns/net", O_RDONLY);  // inherited by `ip`
  if (run("ip link set lo up") != 0) _exit(kNoIp);
  if (run("ip link add v0 numtxqueues 2 numrxqueues 2 type veth peer name v1 numtxqueues 2 "
          "numrxqueues 2") != 0 ||
      run("ip addr add 10.77.0.1/24 dev v0") != 0 || run("ip link set v0 up") != 0)
    _exit(kSetup);
  if (unshare(CLONE_NEWNET) != 0) _exit(kNoNamespace);
  const int ns_b = open("/proc/self/ns/net", O_RDONLY);
  if (setns(ns_a, CLONE_NEWNET) != 0) _exit(kSetup);
  if (run(("ip link set v1 netns /proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(ns_b))
              .c_str()) != 0)
    _exit(kSetup);
  if (setns(ns_b, CLONE_NEWNET) != 0) _exit(kSetup);
  if (run("ip link set lo up") != 0 || run("ip addr add 10.77.0.2/24 dev v1") != 0 ||
      run("ip link set v1 up") != 0)
    _exit(kSetup);
  std::vector<std::unique_ptr<FarEnd>> ends;
  for (int i = 0; i < 2; ++i) ends.push_back(std::make_unique<FarEnd>(0x0a4d0002));
  for (auto& e : ends) {
    if (!e->bound) _exit(kSetup);
  }
  if (setns(ns_a, CLONE_NEWNET) != 0) _exit(kSetup);  // the worker's thread is made here
  std::vector<SocketAddress> to;
  for (auto& e : ends) to.push_back(SocketAddress::ipv4(0x0a4d0002, e->port));
  XdpFanOut w("v0", kSizes, to);
  if (!w.ok) _exit(kSetup);
  if (w.worker.send_via() != SendVia::kXdp) _exit(kNoXdp);
  if (std::strcmp(w.worker.send_path_name(), "xdp") != 0) _exit(kSetup);
  w.worker.start();
  const uint16_t port = w.worker.port();
  const uint64_t per_round = kSizes.size() * ends.size();
  w.trigger(0);
  if (!round_arrives(ends, 0, port)) _exit(kFirstRound);
  // The neighbour resolved, the table read again (50 ms after a miss, on a
  // 20 ms tick).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint64_t before = w.worker.xdp_frames();
  const int rounds = 5;
  for (int r = 1; r <= rounds; ++r) {
    w.trigger(uint8_t(r));
    if (!round_arrives(ends, uint8_t(r), port)) _exit(kLaterRound);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const uint64_t frames = w.worker.xdp_frames() - before;
  if (frames == 0) _exit(kNoFrames);
  if (frames != rounds * per_round) _exit(kCounts);
  if (w.worker.xdp_fallbacks() < per_round) _exit(kCounts);  // the first round's
  w.worker.stop();
  _exit(kPass);
}

TEST(MediaWorkerXdp, SendsAfXdpFramesOverAVethPairToAnotherNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: network namespaces, a veth pair, AF_XDP";
  if (!XdpSender::built_in()) GTEST_SKIP() << "built without libxdp";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) veth_child();
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died: signal " << WTERMSIG(status);
  const int code = WEXITSTATUS(status);
  if (code == kNoNamespace) GTEST_SKIP() << "unshare(CLONE_NEWNET) refused";
  if (code == kNoIp) GTEST_SKIP() << "no working `ip` (iproute2) to make the veth pair";
  if (code == kNoXdp) GTEST_SKIP() << "the kernel refused an AF_XDP socket on veth";
  EXPECT_EQ(code, kPass) << "20 setup, 21 first round (socket path), 22 later rounds (AF_XDP), "
                            "23 no frames sent as AF_XDP, 24 counts";
}

}  // namespace
}  // namespace lss::net
