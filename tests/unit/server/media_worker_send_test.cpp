// MediaWorker's send path through the real kernel on loopback: a fan-out
// gathered while a datagram is handled goes out with UDP GSO as one message
// per viewer and arrives as the same datagrams, in order; SEND_PATH=plain
// sends one message per datagram; and where the kernel refuses GSO (a
// segment over the device's MTU) every datagram still arrives and the worker
// falls back to one datagram per message. Replies leave from the address
// each peer sent to.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "loopback_receiver.hpp"
#include "net/media_worker.hpp"

namespace lss::net {
namespace {

using Receiver = testing::Receiver;

// Each datagram the worker receives makes it send `sizes` (the k-th filled
// with k) to every viewer, packet by packet as the engine fans out.
struct FanOutWorker {
  FanOutWorker(SendShape shape, std::vector<size_t> sizes, std::vector<SocketAddress> viewers)
      : worker(0, 0) {
    EXPECT_TRUE(worker.open());
    worker.set_send_shape(shape);
    worker.set_handlers(
        [this, sizes, viewers](uint8_t*, size_t, const SocketAddress&, Timestamp) {
          for (size_t k = 0; k < sizes.size(); ++k) {
            const Bytes d(sizes[k], uint8_t(k));
            for (const auto& v : viewers) worker.send(d, v);
          }
        },
        [](Timestamp) {}, std::chrono::milliseconds(20));
    worker.start();
  }
  void trigger() {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(worker.port());
    const uint8_t one = 1;
    sendto(fd, &one, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(fd);
  }
  // The send counters once `datagrams` have gone (the worker thread counts
  // after sendmmsg returns).
  uint64_t messages_after(uint64_t datagrams) {
    for (int i = 0; i < 200 && worker.udp_datagrams_sent() < datagrams; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return worker.udp_messages_sent();
  }
  MediaWorker worker;
};

void expect_received(Receiver& r, const std::vector<size_t>& sizes) {
  for (size_t k = 0; k < sizes.size(); ++k) {
    const auto d = r.next();
    ASSERT_EQ(d.size(), sizes[k]) << "datagram " << k;
    EXPECT_EQ(d[0], uint8_t(k));
    EXPECT_EQ(d.back(), uint8_t(k));
  }
}

const std::vector<size_t> kBurst = {1200, 1200, 1200, 1200, 640};

TEST(MediaWorkerSend, GsoSendsOneMessagePerViewerAndEachDatagramArrives) {
  Receiver a, b;
  FanOutWorker w(SendShape::kGso, kBurst, {a.address(), b.address()});
  w.trigger();
  expect_received(a, kBurst);
  expect_received(b, kBurst);
  EXPECT_EQ(w.messages_after(10), 2u);
  EXPECT_EQ(w.worker.udp_datagrams_sent(), 10u);
  EXPECT_EQ(w.worker.send_shape(), SendShape::kGso);
  EXPECT_EQ(w.worker.counters().send_errors, 0u);
}

TEST(MediaWorkerSend, PlainSendsOneMessagePerDatagram) {
  Receiver a, b;
  FanOutWorker w(SendShape::kPlain, kBurst, {a.address(), b.address()});
  w.trigger();
  expect_received(a, kBurst);
  expect_received(b, kBurst);
  EXPECT_EQ(w.messages_after(10), 10u);
}

// With several addresses announced (set_reply_from_destination) the worker
// answers each peer from the address the peer sent to. On the dual-stack
// socket an IPv4 datagram carries that address twice, IPV6_PKTINFO then
// IP_PKTINFO: both must fit, or the second is cut short and read past its
// end (the next datagram's control bytes): every reply of a receive batch
// but the last then failed or left from another address.
TEST(MediaWorkerSend, RepliesLeaveFromTheAddressEachPeerSentTo) {
  MediaWorker worker(0, 0);
  ASSERT_TRUE(worker.open());
  worker.set_reply_from_destination(true);
  worker.set_handlers(
      [&worker](uint8_t*, size_t, const SocketAddress& from, Timestamp) {
        const Bytes reply(100, 9);
        worker.send(reply, from);
      },
      [](Timestamp) {}, std::chrono::milliseconds(20));
  // Three peers write to 127.0.0.2 before the worker runs: one receive batch.
  constexpr uint32_t kOther = 0x7f000002;
  Receiver peers[3];
  for (auto& p : peers) p.send_to(worker.port(), {1}, kOther);
  worker.start();
  for (auto& p : peers) {
    EXPECT_EQ(p.next().size(), 100u);
    EXPECT_EQ(p.last_from_ip, kOther);
    EXPECT_EQ(p.last_from_port, worker.port());
  }
  worker.stop();
  EXPECT_EQ(worker.counters().send_errors, 0u);
}

// In a private network namespace (root only) whose loopback MTU is below
// the segment size: the kernel refuses those GSO messages (EINVAL), their
// datagrams go again one by one (fragmented, as any datagram over the MTU),
// and after a few refusals the worker stops trying GSO.
TEST(MediaWorkerSend, WhereTheKernelRefusesGsoEveryDatagramStillArrives) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
  const auto run = [] {
    if (unshare(CLONE_NEWNET) != 0) _exit(2);
    if (std::system("ip link set lo up mtu 1000") != 0) _exit(3);
    Receiver r;
    const std::vector<size_t> sizes = {1200, 1200, 1200};
    FanOutWorker w(SendShape::kGso, sizes, {r.address()});
    for (int round = 0; round < 10; ++round) {
      w.trigger();
      for (size_t k = 0; k < sizes.size(); ++k) {
        const auto d = r.next();
        if (d.size() != sizes[k] || d[0] != uint8_t(k)) _exit(4);
      }
    }
    w.messages_after(30);
    if (w.worker.udp_datagrams_sent() != 30) _exit(5);
    if (w.worker.send_shape() != SendShape::kGrouped) _exit(6);
    _exit(0);
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace lss::net
