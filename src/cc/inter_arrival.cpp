#include "cc/inter_arrival.hpp"

#include <algorithm>

namespace lss::cc {

namespace {
constexpr int64_t kGroupSpanUs = 5'000;      // packets sent within 5 ms form one group
constexpr int64_t kBurstGapUs = 5'000;       // arrivals this close, early, extend the group
constexpr int64_t kMaxBurstUs = 100'000;     // ...but a burst lasts at most this long
constexpr int64_t kClockJumpUs = 3'000'000;  // arrival spacing this far off local time: reset
constexpr int kMaxReorderedInARow = 3;
}  // namespace

void InterArrival::reset() {
  current_ = {};
  previous_ = {};
  reordered_in_a_row_ = 0;
}

void InterArrival::start_group(int64_t send_us, int64_t arrival_us) {
  current_.empty = false;
  current_.first_send_us = current_.last_send_us = send_us;
  current_.first_arrival_us = arrival_us;
}

bool InterArrival::in_burst(int64_t send_us, int64_t arrival_us) const {
  const int64_t arrival_delta = arrival_us - current_.last_arrival_us;
  const int64_t send_delta = send_us - current_.last_send_us;
  if (send_delta == 0) return true;
  // Arrived sooner after the previous packet than it was sent after it: a
  // queue released both together, so they measure the same queue state.
  const int64_t propagation_delta = arrival_delta - send_delta;
  return propagation_delta < 0 && arrival_delta <= kBurstGapUs &&
         arrival_us - current_.first_arrival_us < kMaxBurstUs;
}

std::optional<InterArrival::Deltas> InterArrival::on_packet(int64_t send_us, int64_t arrival_us,
                                                            int64_t feedback_us) {
  std::optional<Deltas> out;
  if (current_.empty) {
    start_group(send_us, arrival_us);
  } else if (send_us < current_.first_send_us) {
    return std::nullopt;  // sent before the group being built: reordered, skip it
  } else if (!in_burst(send_us, arrival_us) && send_us - current_.first_send_us > kGroupSpanUs) {
    // The first packet of a new group: the current one is complete.
    if (!previous_.empty) {
      const Deltas d{current_.last_send_us - previous_.last_send_us,
                     current_.last_arrival_us - previous_.last_arrival_us};
      const int64_t local_delta = current_.feedback_us - previous_.feedback_us;
      if (d.arrival_us - local_delta >= kClockJumpUs) {
        // The receiver's clock jumped (or the feedback lies): start over.
        reset();
        start_group(send_us, arrival_us);
        current_.last_arrival_us = arrival_us;
        current_.feedback_us = feedback_us;
        return std::nullopt;
      }
      if (d.arrival_us < 0) {
        if (++reordered_in_a_row_ >= kMaxReorderedInARow) reset();
        if (current_.empty) {
          start_group(send_us, arrival_us);
          current_.last_arrival_us = arrival_us;
          current_.feedback_us = feedback_us;
        }
        return std::nullopt;
      }
      reordered_in_a_row_ = 0;
      out = d;
    }
    previous_ = current_;
    start_group(send_us, arrival_us);
  } else {
    current_.last_send_us = std::max(current_.last_send_us, send_us);
  }
  current_.last_arrival_us = arrival_us;
  current_.feedback_us = feedback_us;
  return out;
}

}  // namespace lss::cc
