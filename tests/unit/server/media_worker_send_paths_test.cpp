// The other ways a MediaWorker hands its messages to the kernel, through
// the real kernel on loopback: SEND_PATH=io_uring (a SENDMSG per message
// on the worker's ring) and SEND_PATH=connected (a socket connected to each
// destination). A fan-out burst with runs of same-size packets (GSO
// messages) and odd sizes reaches several receivers, every datagram whole
// and in order; where the kernel refuses a ring the worker falls back to
// sendmmsg and still sends everything; a connected socket's peer still
// reaches the worker's handler, and an idle connected socket is closed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "loopback_receiver.hpp"
#include "net/media_worker.hpp"
#include "net/uring_sender.hpp"

namespace lss::net {
namespace {

using Receiver = testing::Receiver;

// Each 1-byte datagram the worker receives makes it send `sizes` to every
// viewer, packet by packet as the engine fans out: datagram k of round r
// is filled with r * 16 + k. Longer datagrams are counted by sender.
struct FanOutWorker {
  FanOutWorker(SendVia via, std::vector<size_t> sizes, std::vector<SocketAddress> viewers)
      : worker(0, 0) {
    worker.set_send_via(via);
    EXPECT_TRUE(worker.open());
    worker.set_send_shape(SendShape::kGso);
    worker.set_handlers(
        [this, sizes, viewers](uint8_t* data, size_t size, const SocketAddress& from, Timestamp) {
          if (size != 1) {
            seen.fetch_add(1);
            if (from.port == watched_port.load()) watched_seen.fetch_add(1);
            return;
          }
          const uint8_t round = data[0];
          for (size_t k = 0; k < sizes.size(); ++k) {
            const Bytes d(sizes[k], uint8_t(round * 16 + k));
            for (const auto& v : viewers) worker.send(d, v);
          }
        },
        [](Timestamp) {}, std::chrono::milliseconds(20));
  }
  void trigger(uint8_t round) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(worker.port());
    sendto(fd, &round, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(fd);
  }
  // Waits until `datagrams` have gone (the worker thread counts after the
  // kernel took them).
  void wait_sent(uint64_t datagrams) {
    for (int i = 0; i < 400 && worker.udp_datagrams_sent() < datagrams; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  MediaWorker worker;
  std::atomic<uint16_t> watched_port{0};
  std::atomic<int> watched_seen{0};
  std::atomic<int> seen{0};  // datagrams other than triggers
};

void wait_for(const std::atomic<int>& count, int n) {
  for (int i = 0; i < 400 && count.load() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Runs (four 1200s and a shorter 640: one GSO message), a lone 200, four
// 1000s, two 1300s: four messages per viewer with GSO.
const std::vector<size_t> kBurst = {1200, 1200, 1200, 1200, 640,  200,
                                    1000, 1000, 1000, 1000, 1300, 1300};
constexpr uint64_t kMessagesPerViewer = 4;

void expect_round(Receiver& r, uint8_t round, const std::vector<size_t>& sizes) {
  for (size_t k = 0; k < sizes.size(); ++k) {
    const auto d = r.next();
    ASSERT_EQ(d.size(), sizes[k]) << "round " << int(round) << " datagram " << k;
    const auto fill = uint8_t(round * 16 + k);
    EXPECT_EQ(d.front(), fill);
    EXPECT_EQ(d.back(), fill);
    EXPECT_EQ(std::count(d.begin(), d.end(), fill), std::ptrdiff_t(d.size()));
  }
}

// Sends `rounds` bursts to `n` receivers and checks that every datagram
// arrives whole and in order; the number of messages the worker used.
uint64_t fan_out_and_check(FanOutWorker& w, std::vector<std::unique_ptr<Receiver>>& rs,
                           int rounds) {
  for (int round = 0; round < rounds; ++round) {
    w.trigger(uint8_t(round));
    for (auto& r : rs) expect_round(*r, uint8_t(round), kBurst);
    w.wait_sent(uint64_t(round + 1) * kBurst.size() * rs.size());
  }
  return w.worker.udp_messages_sent();
}

std::vector<std::unique_ptr<Receiver>> receivers(size_t n) {
  std::vector<std::unique_ptr<Receiver>> rs;
  for (size_t i = 0; i < n; ++i) rs.push_back(std::make_unique<Receiver>());
  return rs;
}

std::vector<SocketAddress> addresses(const std::vector<std::unique_ptr<Receiver>>& rs) {
  std::vector<SocketAddress> out;
  for (const auto& r : rs) out.push_back(r->address());
  return out;
}

TEST(MediaWorkerSendPaths, IoUringSendsEachViewersGsoMessagesAndEveryDatagramArrives) {
  auto rs = receivers(4);
  FanOutWorker w(SendVia::kUring, kBurst, addresses(rs));
  const bool ring = w.worker.send_via() == SendVia::kUring;
  if (!ring) {
    // Built without liburing, or the kernel refuses io_uring here: the
    // worker fell back to sendmmsg, which must work as well.
    std::cerr << "io_uring unavailable: testing the sendmmsg fallback\n";
    EXPECT_STREQ(w.worker.send_path_name(), "gso");
  } else {
    EXPECT_STREQ(w.worker.send_path_name(), "io_uring");
  }
  w.worker.start();
  const int rounds = 3;
  const uint64_t messages = fan_out_and_check(w, rs, rounds);
  EXPECT_EQ(messages, rounds * kMessagesPerViewer * rs.size());
  EXPECT_EQ(w.worker.udp_datagrams_sent(), rounds * kBurst.size() * rs.size());
  EXPECT_EQ(w.worker.counters().datagrams_out, rounds * kBurst.size() * rs.size());
  size_t bytes = 0;
  for (size_t s : kBurst) bytes += s;
  EXPECT_EQ(w.worker.counters().bytes_out, rounds * bytes * rs.size());
  EXPECT_EQ(w.worker.counters().send_errors, 0u);
  EXPECT_EQ(w.worker.send_shape(), SendShape::kGso);
  EXPECT_EQ(w.worker.send_via() == SendVia::kUring, ring);
}

// As a container's seccomp profile does: io_uring_setup fails with EPERM.
// The worker warns, sends with sendmmsg instead and says so.
TEST(MediaWorkerSendPaths, WhereTheKernelRefusesIoUringTheWorkerFallsBackToSendmmsg) {
  const auto run = [] {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(2);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(3);
    auto rs = receivers(2);
    FanOutWorker w(SendVia::kUring, kBurst, addresses(rs));
    if (w.worker.send_via() != SendVia::kSendmmsg) _exit(4);
    if (std::strcmp(w.worker.send_path_name(), "gso") != 0) _exit(5);
    w.worker.start();
    w.trigger(0);
    for (auto& r : rs) {
      for (size_t k = 0; k < kBurst.size(); ++k) {
        const auto d = r->next();
        if (d.size() != kBurst[k] || d[0] != uint8_t(k)) _exit(6);
      }
    }
    w.wait_sent(kBurst.size() * rs.size());
    if (w.worker.udp_messages_sent() != kMessagesPerViewer * rs.size()) _exit(7);
    _exit(0);
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(0), "");
}

// In a private network namespace (root only) whose loopback MTU is below
// the segment size: the kernel refuses the GSO messages (EMSGSIZE), their
// datagrams go again one by one, and after a few refusals the worker stops
// trying GSO, still on its path (`grouped_name` then).
void expect_gso_refusal_handled(SendVia via, const char* grouped_name) {
  const auto run = [&] {
    if (unshare(CLONE_NEWNET) != 0) _exit(2);
    if (std::system("ip link set lo up mtu 1000") != 0) _exit(3);
    Receiver r;
    const std::vector<size_t> sizes = {1200, 1200, 1200};
    FanOutWorker w(via, sizes, {r.address()});
    const bool on_path = w.worker.send_via() == via;
    w.worker.start();
    for (int round = 0; round < 10; ++round) {
      w.trigger(uint8_t(round));
      for (size_t k = 0; k < sizes.size(); ++k) {
        const auto d = r.next();
        if (d.size() != sizes[k] || d[0] != uint8_t(round * 16 + k)) _exit(4);
      }
    }
    w.wait_sent(30);
    if (w.worker.udp_datagrams_sent() != 30) _exit(5);
    if (w.worker.send_shape() != SendShape::kGrouped) _exit(6);
    if (on_path && std::strcmp(w.worker.send_path_name(), grouped_name) != 0) _exit(7);
    _exit(0);
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(0), "");
}

TEST(MediaWorkerSendPaths, IoUringWhereTheKernelRefusesGsoEveryDatagramStillArrives) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
  expect_gso_refusal_handled(SendVia::kUring, "io_uring-grouped");
}

TEST(MediaWorkerSendPaths, ConnectedWhereTheKernelRefusesGsoEveryDatagramStillArrives) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private network namespace";
  expect_gso_refusal_handled(SendVia::kConnected, "connected-grouped");
}

TEST(MediaWorkerSendPaths, ConnectedSendsEachViewersGsoMessagesAndEveryDatagramArrives) {
  auto rs = receivers(4);
  FanOutWorker w(SendVia::kConnected, kBurst, addresses(rs));
  ASSERT_EQ(w.worker.send_via(), SendVia::kConnected);
  EXPECT_STREQ(w.worker.send_path_name(), "connected");
  w.worker.start();
  const int rounds = 3;
  const uint64_t messages = fan_out_and_check(w, rs, rounds);
  // One sendmmsg per viewer and round, the same GSO messages as auto.
  EXPECT_EQ(messages, rounds * kMessagesPerViewer * rs.size());
  EXPECT_EQ(w.worker.udp_datagrams_sent(), rounds * kBurst.size() * rs.size());
  EXPECT_EQ(w.worker.counters().send_errors, 0u);
  EXPECT_EQ(w.worker.send_shape(), SendShape::kGso);
  // A socket per viewer, made once; each viewer saw the worker's own port.
  EXPECT_EQ(w.worker.connected_sockets(), rs.size());
  for (auto& r : rs) EXPECT_EQ(r->last_from_port, w.worker.port());
}

// Once a peer has a connected socket the kernel hands what it sends to that
// socket: the worker reads it there and the handler sees it as before. A
// peer without one still arrives on the shared socket.
TEST(MediaWorkerSendPaths, ConnectedSocketStillDeliversWhatItsPeerSends) {
  auto rs = receivers(2);
  FanOutWorker w(SendVia::kConnected, kBurst, addresses(rs));
  w.worker.start();
  fan_out_and_check(w, rs, 1);
  ASSERT_EQ(w.worker.connected_sockets(), 2u);
  const uint64_t before = w.worker.connected_datagrams_in();

  w.watched_port = rs[0]->port;
  rs[0]->send_to(w.worker.port(), std::vector<uint8_t>(100, 7));
  for (int i = 0; i < 400 && w.watched_seen.load() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(w.watched_seen.load(), 1);
  EXPECT_EQ(w.worker.connected_datagrams_in(), before + 1);

  Receiver stranger;
  w.watched_port = stranger.port;
  stranger.send_to(w.worker.port(), std::vector<uint8_t>(100, 8));
  for (int i = 0; i < 400 && w.watched_seen.load() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(w.watched_seen.load(), 2);
  EXPECT_EQ(w.worker.connected_datagrams_in(), before + 1);  // the shared socket's
}

// A connected socket that has sent nothing for the idle timeout is closed
// (checked in the worker's tick); its peer's datagrams then reach the
// shared socket, and the next send makes a new one.
TEST(MediaWorkerSendPaths, IdleConnectedSocketIsClosed) {
  auto rs = receivers(2);
  FanOutWorker w(SendVia::kConnected, kBurst, addresses(rs));
  w.worker.set_connected_idle_timeout(std::chrono::milliseconds(200));
  w.worker.start();
  fan_out_and_check(w, rs, 1);
  EXPECT_EQ(w.worker.connected_sockets(), 2u);
  for (int i = 0; i < 300 && w.worker.connected_sockets() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(w.worker.connected_sockets(), 0u);

  const uint64_t before = w.worker.connected_datagrams_in();
  w.watched_port = rs[1]->port;
  rs[1]->send_to(w.worker.port(), std::vector<uint8_t>(100, 7));
  for (int i = 0; i < 400 && w.watched_seen.load() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(w.watched_seen.load(), 1);
  EXPECT_EQ(w.worker.connected_datagrams_in(), before);

  // Sending again opens them again.
  w.trigger(1);
  for (auto& r : rs) expect_round(*r, 1, kBurst);
  w.wait_sent(2 * kBurst.size() * rs.size());
  EXPECT_EQ(w.worker.connected_sockets(), 2u);
  EXPECT_EQ(w.worker.counters().send_errors, 0u);
}

// With several addresses announced the worker answers each peer from the
// address it talks to: a connected socket is bound to it (127.0.0.2 here),
// and once the peer talks to another address the shared socket answers it
// from that one.
TEST(MediaWorkerSendPaths, ConnectedAnswersFromTheAddressEachPeerTalksTo) {
  auto rs = receivers(2);
  FanOutWorker w(SendVia::kConnected, kBurst, addresses(rs));
  w.worker.set_reply_from_destination(true);
  w.worker.start();
  constexpr uint32_t kOther = 0x7f000002;  // 127.0.0.2, also on loopback
  for (auto& r : rs) r->send_to(w.worker.port(), {1, 2}, kOther);
  wait_for(w.seen, 2);
  ASSERT_EQ(w.seen.load(), 2);
  w.trigger(0);
  for (auto& r : rs) {
    expect_round(*r, 0, kBurst);
    EXPECT_EQ(r->last_from_ip, kOther);
    EXPECT_EQ(r->last_from_port, w.worker.port());
  }
  w.wait_sent(kBurst.size() * rs.size());
  EXPECT_EQ(w.worker.connected_sockets(), 2u);

  // What rs[0] sends to 127.0.0.1 reaches the shared socket (its connected
  // socket is bound to 127.0.0.2); the worker answers from 127.0.0.1.
  const uint64_t before = w.worker.connected_datagrams_in();
  rs[0]->send_to(w.worker.port(), {3, 4});
  wait_for(w.seen, 3);
  EXPECT_EQ(w.worker.connected_datagrams_in(), before);
  w.trigger(1);
  expect_round(*rs[0], 1, kBurst);
  EXPECT_EQ(rs[0]->last_from_ip, uint32_t(INADDR_LOOPBACK));
  expect_round(*rs[1], 1, kBurst);
  EXPECT_EQ(rs[1]->last_from_ip, kOther);
  w.wait_sent(2 * kBurst.size() * rs.size());
  EXPECT_EQ(w.worker.counters().send_errors, 0u);
}

}  // namespace
}  // namespace lss::net
