#pragma once
// Puts one SSRC's RTP packets back in sequence order for depacketizing.
// Holds up to kWindow packets past a gap; when the window fills, the missing
// packets are given up on (the depacketizer then sees the loss).
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>

namespace lss::record {

class ReorderBuffer {
 public:
  static constexpr size_t kWindow = 128;
  static constexpr size_t kMaxPacket = 1500;

  // Emits packets in order through `out(seq, data, size)`.
  template <typename F>
  void push(uint16_t seq, const uint8_t* data, size_t size, F&& out) {
    if (size > kMaxPacket) return;
    if (!started_) {
      started_ = true;
      next_ = seq;
    }
    const int16_t ahead = int16_t(uint16_t(seq - next_));
    if (ahead < 0) return;  // late duplicate or too old
    if (ahead >= int16_t(kWindow)) {
      // Far ahead: give up on everything missing before it.
      flush_all(out);
      next_ = seq;
    }
    Entry& e = ring_[seq % kWindow];
    e.used = true;
    e.seq = seq;
    e.size = uint16_t(size);
    std::memcpy(e.data, data, size);
    ++held_;
    drain(out);
    if (held_ >= kWindow / 2) {
      // A gap is blocking half the window: skip it.
      while (!ring_[next_ % kWindow].used || ring_[next_ % kWindow].seq != next_) ++next_;
      drain(out);
    }
  }

 private:
  struct Entry {
    bool used = false;
    uint16_t seq = 0;
    uint16_t size = 0;
    uint8_t data[kMaxPacket];
  };
  template <typename F>
  void drain(F& out) {
    for (;;) {
      Entry& e = ring_[next_ % kWindow];
      if (!e.used || e.seq != next_) return;
      out(e.seq, e.data, e.size);
      e.used = false;
      --held_;
      ++next_;
    }
  }
  template <typename F>
  void flush_all(F& out) {
    for (size_t i = 0; i < kWindow && held_ > 0; ++i, ++next_) {
      Entry& e = ring_[next_ % kWindow];
      if (e.used && e.seq == next_) {
        out(e.seq, e.data, e.size);
        e.used = false;
        --held_;
      }
    }
  }

  std::array<Entry, kWindow> ring_{};
  uint16_t next_ = 0;
  size_t held_ = 0;
  bool started_ = false;
};

}  // namespace lss::record
