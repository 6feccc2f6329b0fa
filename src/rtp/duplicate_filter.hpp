#pragma once
// Which sequence numbers of one RTP stream have arrived, over the last
// kWindow: a packet seen before is a duplicate. Publishers resend packets
// nobody asked for (libwebrtc probes bandwidth with RTX copies of old
// packets), and a network may duplicate; forwarding those would hand viewers
// copies they did not ask for and make the receiver report count them
// (negative loss). A bitmap; the per-packet call allocates nothing.
#include <bitset>
#include <cstdint>

namespace lss {

class DuplicateFilter {
 public:
  static constexpr int kWindow = 2048;

  // True the first time `seq` is seen; false for a duplicate or a packet
  // older than the window (too late to be of use).
  bool first_time(uint16_t seq);

 private:
  std::bitset<kWindow> seen_;  // indexed by seq % kWindow
  uint16_t highest_ = 0;
  bool started_ = false;
};

}  // namespace lss
