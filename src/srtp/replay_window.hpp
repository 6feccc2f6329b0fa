#pragma once
// Replay protection for SRTP (RFC 3711 §3.3.2) and SRTCP, with the exact
// acceptance rules of libsrtp2 (rdbx for SRTP, rdb for SRTCP) so swapping the
// implementation changes no packet's fate. Fixed size, no allocation.
#include <array>
#include <cstddef>
#include <cstdint>

namespace lss {

enum class ReplayCheck { kOk, kDuplicate, kTooOld };

// SRTP: tracks the highest index and which of the kBits indices ending at it
// were seen. Indices are kept in a ring (bit = index mod kBits), so moving
// forward by one packet clears one bit instead of shifting the whole window.
template <size_t kBits>
class SrtpReplayWindow {
  static_assert(kBits >= 64 && (kBits & (kBits - 1)) == 0, "a power of two, at least 64");

 public:
  uint64_t highest() const { return highest_; }

  // `delta` = candidate index - highest() (see estimate_srtp_index).
  ReplayCheck check(int32_t delta) const {
    if (delta > 0) return ReplayCheck::kOk;
    if (-int64_t(delta) >= int64_t(kBits)) return ReplayCheck::kTooOld;
    return test(highest_ + uint64_t(int64_t(delta))) ? ReplayCheck::kDuplicate : ReplayCheck::kOk;
  }

  // Records an index that passed check() and authentication.
  void add(int32_t delta) {
    if (delta > 0) {
      clear_range(highest_ + 1, uint64_t(delta));
      highest_ += uint64_t(delta);
    }
    set(highest_ + uint64_t(int64_t(delta > 0 ? 0 : delta)));
  }

 private:
  static constexpr uint64_t kMask = kBits - 1;
  bool test(uint64_t index) const {
    const uint64_t p = index & kMask;
    return (bits_[p >> 6] >> (p & 63)) & 1;
  }
  void set(uint64_t index) {
    const uint64_t p = index & kMask;
    bits_[p >> 6] |= uint64_t(1) << (p & 63);
  }
  // Forgets indices [first, first + count): they now stand for newer packets.
  void clear_range(uint64_t first, uint64_t count) {
    if (count >= kBits) {
      bits_.fill(0);
      return;
    }
    uint64_t p = first & kMask;
    while (count > 0) {
      const uint64_t bit = p & 63;
      const uint64_t n = count < 64 - bit ? count : 64 - bit;
      const uint64_t mask = n == 64 ? ~uint64_t(0) : ((uint64_t(1) << n) - 1) << bit;
      bits_[p >> 6] &= ~mask;
      p = (p + n) & kMask;
      count -= n;
    }
  }

  uint64_t highest_ = 0;
  std::array<uint64_t, kBits / 64> bits_{};
};

// SRTCP: libsrtp2's rdb, a 128-index window [start, start + 128) that starts
// at 0 and slides only when an index beyond it arrives.
class SrtcpReplayWindow {
 public:
  ReplayCheck check(uint32_t index) const {
    if (uint64_t(index) >= uint64_t(start_) + kBits) return ReplayCheck::kOk;
    if (index < start_) return ReplayCheck::kTooOld;
    return (bits_ >> (index - start_)) & 1 ? ReplayCheck::kDuplicate : ReplayCheck::kOk;
  }

  void add(uint32_t index) {
    if (index < start_) return;
    uint32_t d = index - start_;
    if (d < kBits) {
      bits_ |= Word(1) << d;
      return;
    }
    d -= kBits - 1;  // slide so `index` becomes the window's last slot
    bits_ = d >= kBits ? 0 : bits_ >> d;
    bits_ |= Word(1) << (kBits - 1);
    start_ += d;
  }

 private:
  __extension__ using Word = unsigned __int128;  // GCC and Clang both have it
  static constexpr uint32_t kBits = 128;
  uint32_t start_ = 0;
  Word bits_ = 0;
};

}  // namespace lss
