#pragma once
// Frame completion, per viewer: how long after the publisher sent a video
// frame's last packet the viewer holds every packet of it, the moment a
// decoder could show it. Per-packet latency hides what the order of a
// fan-out does to a frame (a burst sent packet by packet to every viewer
// completes each frame late for all of them; viewer by viewer, early for
// the first ones and no later for the last), so the benchmarks report this
// too, by the viewer's position in the audience.
#include <cstdint>
#include <optional>

namespace lss::load {

class FrameCompletion {
 public:
  // One video packet: RTP timestamp and sequence number, the marker bit,
  // when it arrived and when the publisher sent it (abs-send-time), both in
  // µs on one clock. When the packet starts a new frame and the frame before
  // it arrived whole (no sequence gap, its marker seen), returns that
  // frame's completion: its last arrival minus its last send.
  std::optional<int64_t> on_packet(uint32_t ts, uint16_t seq, bool marker, int64_t arrival_us,
                                   int64_t sent_us) {
    std::optional<int64_t> done;
    if (open_ && ts != ts_) {
      if (int32_t(ts - ts_) < 0) return done;  // a straggler of an older frame
      if (marker_ && uint16_t(last_seq_ - first_seq_) + 1u == packets_) {
        done = last_arrival_ - last_sent_;
      }
      open_ = false;
    }
    if (!open_) {
      open_ = true;
      ts_ = ts;
      first_seq_ = last_seq_ = seq;
      packets_ = 0;
      marker_ = false;
      last_arrival_ = arrival_us;
      last_sent_ = sent_us;
    }
    if (int16_t(uint16_t(seq - first_seq_)) < 0) first_seq_ = seq;
    if (int16_t(uint16_t(seq - last_seq_)) > 0) last_seq_ = seq;
    ++packets_;
    marker_ |= marker;
    if (arrival_us > last_arrival_) last_arrival_ = arrival_us;
    if (sent_us > last_sent_) last_sent_ = sent_us;
    return done;
  }

 private:
  bool open_ = false;
  uint32_t ts_ = 0;
  uint16_t first_seq_ = 0, last_seq_ = 0;
  uint32_t packets_ = 0;
  bool marker_ = false;
  int64_t last_arrival_ = 0, last_sent_ = 0;
};

}  // namespace lss::load
