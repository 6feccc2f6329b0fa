#pragma once
// SEND_PATH=io_uring: a media worker's sendmmsg messages submitted through
// an io_uring instead, one IORING_OP_SENDMSG per message, all submitted and
// waited for with one io_uring_enter (more where a flush has more messages
// than the ring has entries). Each completion is that message's outcome, as
// sendmmsg's per-message result would be. The ring is the worker's own,
// made once; send() neither allocates nor locks.
//
// Optional: built only where liburing is found (LSS_HAVE_URING); without
// it, or where the kernel refuses a ring (seccomp in containers,
// kernel.io_uring_disabled), open() fails and the worker keeps sendmmsg.
#include <sys/socket.h>

#include <memory>
#include <span>

#include "common/result.hpp"

namespace lss::net {

class UringSender {
 public:
  UringSender();
  ~UringSender();
  UringSender(const UringSender&) = delete;
  UringSender& operator=(const UringSender&) = delete;

  // The server was built with liburing.
  static bool built_in();
  // Makes the ring (`entries` submission slots); an error without liburing
  // or where the kernel refuses it.
  lss::Status open(unsigned entries);
  bool is_open() const { return ring_ != nullptr; }

  // Sends every message of `msgs` on `fd` (MSG_DONTWAIT, in order) and
  // waits for all of them: `results[i]` is message i's result, the bytes
  // sent or -errno (results.size() >= msgs.size()). False when the ring
  // itself failed: the messages it could not report have that error, and
  // the ring is closed (is_open() is false from then on).
  bool send(int fd, std::span<mmsghdr> msgs, std::span<int> results);
  // The errno the ring failed with, once send() returned false.
  int error() const { return error_; }

 private:
  struct Ring;
  std::unique_ptr<Ring> ring_;
  int error_ = 0;
};

}  // namespace lss::net
