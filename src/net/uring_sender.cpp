#include "net/uring_sender.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#ifdef LSS_HAVE_URING
#include <liburing.h>
#endif

namespace lss::net {

#ifdef LSS_HAVE_URING

namespace {
constexpr int kPending = INT_MIN;  // no completion yet
}  // namespace

struct UringSender::Ring {
  io_uring ring{};
  bool made = false;
  ~Ring() {
    if (made) io_uring_queue_exit(&ring);
  }
};

UringSender::UringSender() = default;
UringSender::~UringSender() = default;

bool UringSender::built_in() {
  return true;
}

lss::Status UringSender::open(unsigned entries) {
  auto r = std::make_unique<Ring>();
  // SUBMIT_ALL (5.18): a message the kernel rejects at submission does not
  // hold back the rest; COOP_TASKRUN (5.19): no interrupt to run completion
  // work, the worker is in io_uring_enter for it anyway. Older kernels
  // refuse the flags: plain then.
  int err =
      io_uring_queue_init(entries, &r->ring, IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN);
  if (err == -EINVAL) err = io_uring_queue_init(entries, &r->ring, 0);
  if (err < 0) {
    return make_error(std::string("io_uring_queue_init: ") + std::strerror(-err));
  }
  r->made = true;
  ring_ = std::move(r);
  return {};
}

bool UringSender::send(int fd, std::span<mmsghdr> msgs, std::span<int> results) {
  if (!ring_) {
    for (size_t i = 0; i < msgs.size(); ++i) results[i] = -EBADF;
    error_ = EBADF;
    return false;
  }
  io_uring* ring = &ring_->ring;
  const size_t n = msgs.size();
  for (size_t i = 0; i < n; ++i) results[i] = kPending;
  size_t queued = 0, completed = 0;
  int stalls = 0;  // enters in a row that completed nothing
  while (completed < n) {
    // As many as the ring takes; the rest once these have completed.
    while (queued < n) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (!sqe) break;
      io_uring_prep_sendmsg(sqe, fd, &msgs[queued].msg_hdr, MSG_DONTWAIT);
      io_uring_sqe_set_data64(sqe, queued);
      ++queued;
    }
    // Sends of a non-blocking UDP socket complete while they are submitted
    // (MSG_DONTWAIT: a full buffer is -EAGAIN, not a wait), so this returns
    // with every completion in. A submission the kernel cut short returns
    // at once: what it did not take stays queued for the next round.
    const int ret = io_uring_submit_and_wait(ring, unsigned(queued - completed));
    size_t seen = 0;
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring, head, cqe) {
      const auto i = size_t(io_uring_cqe_get_data64(cqe));
      if (i < n) results[i] = cqe->res;
      ++seen;
    }
    io_uring_cq_advance(ring, unsigned(seen));
    completed += seen;
    if (seen > 0) {
      stalls = 0;
      continue;
    }
    if (ret >= 0 || ret == -EINTR || ret == -EAGAIN || ret == -EBUSY) {
      if (++stalls < 64) continue;
    }
    // The ring is broken (or the kernel keeps refusing): what did not
    // complete is lost, and the ring goes (its queued entries with it).
    error_ = ret < 0 ? -ret : EIO;
    for (size_t i = 0; i < n; ++i) {
      if (results[i] == kPending) results[i] = -error_;
    }
    ring_.reset();
    return false;
  }
  return true;
}

#else  // without liburing

struct UringSender::Ring {};

UringSender::UringSender() = default;
UringSender::~UringSender() = default;

bool UringSender::built_in() {
  return false;
}

lss::Status UringSender::open(unsigned) {
  return make_error("the server was built without liburing");
}

bool UringSender::send(int, std::span<mmsghdr> msgs, std::span<int> results) {
  for (size_t i = 0; i < msgs.size(); ++i) results[i] = -EBADF;
  error_ = EBADF;
  return false;
}

#endif

}  // namespace lss::net
