#pragma once
// Merges and throttles keyframe requests (viewer PLI/FIR, joins, recorder)
// before they reach the publisher: at most one PLI per interval, and a
// request that arrives inside the interval is sent when it ends, unless a
// keyframe arrived meanwhile.
#include "common/time.hpp"

namespace lss::sfu {

class KeyframeRequester {
 public:
  explicit KeyframeRequester(Duration min_interval = std::chrono::milliseconds(500))
      : min_interval_(min_interval) {}

  void request() { pending_ = true; }
  void keyframe_received() { pending_ = false; }

  // True when a PLI should be sent now (and records that it was).
  bool should_send(Timestamp now) {
    if (!pending_) return false;
    if (sent_once_ && now - last_sent_ < min_interval_) return false;
    pending_ = false;
    sent_once_ = true;
    last_sent_ = now;
    return true;
  }
  bool pending() const { return pending_; }

 private:
  Duration min_interval_;
  Timestamp last_sent_{};
  bool sent_once_ = false;
  bool pending_ = false;
};

}  // namespace lss::sfu
