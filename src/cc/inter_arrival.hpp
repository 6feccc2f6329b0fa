#pragma once
// Groups acknowledged packets into bursts and measures how the spacing of
// consecutive groups changed on the way: the send-time spacing and the
// arrival-time spacing of two groups, whose difference is the delay
// variation GCC's delay-based estimator works on (draft-ietf-rmcat-gcc-02
// §5.2). A group is what was sent within 5 ms of its first packet; packets
// that arrive in a tight burst after it (the network released them together)
// join it too. Sans-I/O and allocation-free.
#include <cstdint>
#include <optional>

namespace lss::cc {

class InterArrival {
 public:
  struct Deltas {
    int64_t send_us;     // later group's last send time minus the earlier one's
    int64_t arrival_us;  // same for arrival (receiver clock)
  };

  // One acknowledged packet: local send time, arrival time on the receiver's
  // clock, and when its feedback reached us (local). Returns the spacing of
  // the two newest complete groups when this packet starts a new group.
  std::optional<Deltas> on_packet(int64_t send_us, int64_t arrival_us, int64_t feedback_us);
  void reset();

 private:
  struct Group {
    bool empty = true;
    int64_t first_send_us = 0, last_send_us = 0;
    int64_t first_arrival_us = 0, last_arrival_us = 0;
    int64_t feedback_us = 0;
  };
  bool in_burst(int64_t send_us, int64_t arrival_us) const;
  void start_group(int64_t send_us, int64_t arrival_us);

  Group current_, previous_;
  int reordered_in_a_row_ = 0;
};

}  // namespace lss::cc
