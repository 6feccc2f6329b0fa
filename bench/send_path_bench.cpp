// Micro benchmark of the kernel's UDP send paths a media server can use to
// fan a burst of packets out to many viewers: 500 viewers, B 1200-byte
// datagrams each (B is the argument). Rows:
//  - PlainSendmmsg: one unconnected socket, each packet to every viewer in
//    turn, 64 one-datagram messages per sendmmsg (SEND_PATH=plain);
//  - GroupedSendmmsg: the same, a viewer's datagrams back to back (grouped);
//  - GsoSendmmsg: one message per viewer holding its B datagrams with
//    UDP_SEGMENT, 64 per sendmmsg (auto, the default: net/datagram_batch);
//  - ConnectedSendmmsg / ConnectedGso: a connected socket per viewer, one
//    sendmmsg of its B datagrams, or one sendmsg with UDP_SEGMENT;
//  - IoUringSendmsg: an IORING_OP_SENDMSG per datagram, 64 per submit.
// Items are datagrams: the report reads as time per datagram. Messages are
// built before the timed loop, so the rows differ in the kernel's work only.
// The datagrams go to LSS_BENCH_TUN_DEST, routed to a device nothing reads
// (bench/run-send-path: a tun device, or a veth whose peer drops them at
// ingress), so no receiver's work is counted.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h; older libc headers lack it
#endif

namespace {

constexpr int kViewers = 500;
constexpr size_t kDatagram = 1200;
constexpr int kBatch = 64;  // messages per sendmmsg, SQEs per io_uring submit
constexpr int kMaxBurst = 16;

uint8_t g_payload[kMaxBurst][kDatagram];  // the burst's packets

// A control buffer holding one UDP_SEGMENT cmsg.
union Control {
  cmsghdr align;
  char buf[CMSG_SPACE(sizeof(uint16_t))];
};

// One run's viewers (LSS_BENCH_TUN_DEST, ports 20000 + i), sockets (closed
// when it ends) and datagrams lost.
struct Run {
  benchmark::State& state;
  const int burst = int(state.range(0));
  std::vector<sockaddr_in> to;
  std::vector<int> fds;
  int64_t lost = 0;

  explicit Run(benchmark::State& s) : state(s) {}
  ~Run() {
    for (int fd : fds) close(fd);
  }
  bool fail(const char* what, int err) {
    state.SkipWithError((std::string(what) + ": " + std::strerror(err)).c_str());
    return false;
  }
  // One unconnected socket, or one connected to each viewer. Large send
  // buffers, so the rows measure the send path, not waiting for space.
  bool open(bool connected) {
    const char* dest = std::getenv("LSS_BENCH_TUN_DEST");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (!dest || inet_pton(AF_INET, dest, &a.sin_addr) != 1) {
      state.SkipWithError("LSS_BENCH_TUN_DEST not set (run through bench/run-send-path as root)");
      return false;
    }
    to.assign(kViewers, a);
    for (int i = 0; i < kViewers; ++i) to[i].sin_port = htons(uint16_t(20000 + i));
    for (int i = 0; i < (connected ? kViewers : 1); ++i) {
      const int fd = socket(AF_INET, SOCK_DGRAM, 0);
      if (fd < 0) return fail("socket", errno);
      fds.push_back(fd);
      const int size = 16 << 20;  // SO_SNDBUFFORCE passes wmem_max as root
      if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
      if (connected && connect(fd, reinterpret_cast<sockaddr*>(&to[i]), sizeof to[i]) != 0)
        return fail("connect", errno);
    }
    return true;
  }
  void report() {
    const int64_t datagrams = state.iterations() * kViewers * burst;
    state.SetItemsProcessed(datagrams);
    state.counters["lost"] = datagrams ? double(lost) / double(datagrams) : 0;  // fraction
  }
};

// EAGAIN and ENOBUFS say the device or buffer is full: the datagram is lost,
// as the server would lose it, and counted; anything else ends the run.
constexpr auto transient = [](int err) { return err == EAGAIN || err == ENOBUFS; };

// Fills `h` to send `n` datagrams of the burst from `first`, to `to` unless
// null; more than one datagram is a GSO message of kDatagram segments.
void fill(msghdr& h, iovec* iov, Control* control, const sockaddr_in* to, int first, int n) {
  h = {};
  for (int p = 0; p < n; ++p) iov[p] = {g_payload[first + p], kDatagram};
  h.msg_iov = iov;
  h.msg_iovlen = size_t(n);
  if (to) {
    h.msg_name = const_cast<sockaddr_in*>(to);
    h.msg_namelen = sizeof *to;
  }
  if (n > 1) {
    h.msg_control = control->buf;
    h.msg_controllen = sizeof control->buf;
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const uint16_t segment = kDatagram;
    std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
  }
}

// sendmmsg of m[0, n), resumed after a partial send; `per_msg` datagrams
// per message. False when an error ended the run.
bool send_all(Run& run, int fd, mmsghdr* m, size_t n, int per_msg) {
  for (size_t done = 0; done < n;) {
    const int r = sendmmsg(fd, m + done, unsigned(n - done), MSG_DONTWAIT);
    if (r > 0) {
      done += size_t(r);
    } else if (r < 0 && transient(errno)) {
      run.lost += per_msg;
      ++done;  // the kernel stopped at this message
    } else {
      return run.fail("sendmmsg", r < 0 ? errno : EIO);
    }
  }
  return true;
}

// One unconnected socket; `build` makes the messages (all the burst's, each
// of `per_msg` datagrams), sent 64 per sendmmsg.
template <typename Build>
void unconnected(benchmark::State& state, int per_msg, Build build) {
  Run run(state);
  if (!run.open(false)) return;
  std::vector<mmsghdr> m(size_t(kViewers * run.burst / per_msg));
  std::vector<iovec> iov(size_t(kViewers * run.burst));
  std::vector<Control> control(m.size());
  build(run.burst, run.to, m, iov, control);
  for (auto _ : state) {
    bool ok = true;
    for (size_t i = 0; ok && i < m.size(); i += kBatch)
      ok = send_all(run, run.fds[0], &m[i], std::min(m.size() - i, size_t(kBatch)), per_msg);
    if (!ok) break;
  }
  run.report();
}

void BM_PlainSendmmsg(benchmark::State& state) {
  unconnected(state, 1, [](int burst, auto& to, auto& m, auto& iov, auto& c) {
    for (int p = 0, i = 0; p < burst; ++p)  // packet by packet
      for (int v = 0; v < kViewers; ++v, ++i) fill(m[i].msg_hdr, &iov[i], &c[i], &to[v], p, 1);
  });
}

void BM_GroupedSendmmsg(benchmark::State& state) {
  unconnected(state, 1, [](int burst, auto& to, auto& m, auto& iov, auto& c) {
    for (int v = 0, i = 0; v < kViewers; ++v)  // viewer by viewer
      for (int p = 0; p < burst; ++p, ++i) fill(m[i].msg_hdr, &iov[i], &c[i], &to[v], p, 1);
  });
}

void BM_GsoSendmmsg(benchmark::State& state) {
  unconnected(state, int(state.range(0)), [](int burst, auto& to, auto& m, auto& iov, auto& c) {
    for (int v = 0; v < kViewers; ++v) fill(m[v].msg_hdr, &iov[v * burst], &c[v], &to[v], 0, burst);
  });
}

// A connected socket per viewer: its route is looked up once, at connect(),
// instead of for every datagram, but each viewer costs a system call.
void connected(benchmark::State& state, bool gso) {
  Run run(state);
  if (!run.open(true)) return;
  const int burst = run.burst;
  mmsghdr m[kMaxBurst];  // one datagram each, for sendmmsg
  iovec iov[kMaxBurst], gso_iov[kMaxBurst];
  for (int p = 0; p < burst; ++p) fill(m[p].msg_hdr, &iov[p], nullptr, nullptr, p, 1);
  msghdr h;  // all of them in one, for sendmsg
  Control control;
  fill(h, gso_iov, &control, nullptr, 0, burst);
  for (auto _ : state) {
    bool ok = true;
    for (int v = 0; ok && v < kViewers; ++v) {
      if (!gso) {
        ok = send_all(run, run.fds[v], m, size_t(burst), 1);
      } else if (const ssize_t r = sendmsg(run.fds[v], &h, MSG_DONTWAIT);
                 r < 0 && transient(errno)) {
        run.lost += burst;
      } else if (r != ssize_t(burst * kDatagram)) {
        ok = run.fail("sendmsg", r < 0 ? errno : EIO);
      }
    }
    if (!ok) break;
  }
  run.report();
}

void BM_ConnectedSendmmsg(benchmark::State& state) {
  connected(state, false);
}
void BM_ConnectedGso(benchmark::State& state) {
  connected(state, true);
}

// Sends as PlainSendmmsg does, each datagram an IORING_OP_SENDMSG: one
// io_uring_enter per 64 instead of one sendmmsg.
void BM_IoUringSendmsg(benchmark::State& state) {
  Run run(state);
  if (!run.open(false)) return;
  io_uring ring;
  if (const int r = io_uring_queue_init(kBatch, &ring, 0); r < 0) {
    run.fail("io_uring_queue_init", -r);
    return;
  }
  std::vector<msghdr> h(size_t(kViewers * run.burst));
  std::vector<iovec> iov(h.size());
  for (int p = 0, i = 0; p < run.burst; ++p)
    for (int v = 0; v < kViewers; ++v, ++i) fill(h[i], &iov[i], nullptr, &run.to[v], p, 1);
  for (auto _ : state) {
    int err = 0;
    for (size_t i = 0; !err && i < h.size(); i += kBatch) {
      const unsigned n = unsigned(std::min(h.size() - i, size_t(kBatch)));
      for (unsigned j = 0; j < n; ++j)
        io_uring_prep_sendmsg(io_uring_get_sqe(&ring), run.fds[0], &h[i + j], MSG_DONTWAIT);
      if (const int r = io_uring_submit_and_wait(&ring, n); r < 0) err = -r;
      io_uring_cqe* cqe;
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring, head, cqe) {
        ++seen;
        if (cqe->res < 0 && transient(-cqe->res))
          ++run.lost;
        else if (cqe->res != int(kDatagram))
          err = cqe->res < 0 ? -cqe->res : EIO;
      }
      io_uring_cq_advance(&ring, seen);
    }
    if (err) {
      run.fail("io_uring sendmsg", err);
      break;
    }
  }
  io_uring_queue_exit(&ring);
  run.report();
}

// Process CPU time: the kernel's work for a send is charged to the sending
// thread, except what io_uring hands to its io-wq threads, which are the
// process's; the benchmark itself runs no other thread.
#define SEND_PATH(bm) \
  BENCHMARK(bm)->RangeMultiplier(2)->Range(1, kMaxBurst)->MeasureProcessCPUTime()
SEND_PATH(BM_PlainSendmmsg);
SEND_PATH(BM_GroupedSendmmsg);
SEND_PATH(BM_GsoSendmmsg);
SEND_PATH(BM_ConnectedSendmmsg);
SEND_PATH(BM_ConnectedGso);
SEND_PATH(BM_IoUringSendmsg);

}  // namespace

BENCHMARK_MAIN();
