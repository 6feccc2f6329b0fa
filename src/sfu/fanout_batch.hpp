#pragma once
// Viewer-major fan-out. While a media worker handles a batch (the datagrams
// of one recvmmsg, a relay hand-off), each stream keeps the packets it is
// given and sends them when the batch ends, viewer by viewer: a viewer's
// copies of a burst then leave back to back, and UDP GSO sends them as one
// message (net/datagram_batch.hpp). Runs are as long as the batch without the
// worker holding every viewer's copy of every packet at once, and the first
// viewers have a whole frame sooner. Outside a batch (the engine's unit
// tests, anything not framed by begin/end) packets fan out as they come.
#include <algorithm>
#include <vector>

namespace lss::sfu {

class FanoutBatch {
 public:
  // A stream holding packets until the batch ends.
  class Member {
   public:
    virtual void flush_fanout() = 0;

   protected:
    ~Member() = default;
  };

  FanoutBatch() { waiting_.reserve(64); }
  bool open() const { return open_; }
  void begin() { open_ = true; }
  // Every waiting stream sends what it holds; the batch is closed first, so
  // nothing joins the list while it is walked.
  void end() {
    open_ = false;
    for (Member* m : waiting_) m->flush_fanout();
    waiting_.clear();
  }
  // `m` holds packets (called with its first one of the batch).
  void waiting(Member* m) { waiting_.push_back(m); }
  // `m` is going away.
  void forget(Member* m) { std::erase(waiting_, m); }

 private:
  bool open_ = false;
  std::vector<Member*> waiting_;
};

}  // namespace lss::sfu
