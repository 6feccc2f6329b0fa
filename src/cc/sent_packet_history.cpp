#include "cc/sent_packet_history.hpp"

#include <algorithm>

#include "cc/bwe_types.hpp"
#include "cc/probe_controller.hpp"

namespace lss::cc {

namespace {
// The first packet unwraps to seq + this, so numbers stay positive even when
// the next ones step back a little.
constexpr int64_t kFirstCycle = 1 << 16;
constexpr size_t kIndexBits = 10;
// A new base puts the send time that needed it in the middle of the span, so
// send times may step back as far as they go forward.
constexpr int64_t kBaseLeadUs = SentPacketHistory::kTimeSpanUs / 2;

static_assert(SentPacketHistory::kCapacity == size_t(1) << kIndexBits);
static_assert(16 - kIndexBits == 6, "seq_high holds the bits of the number above the index");
static_assert(SentPacketHistory::kRingBytes <= 8 * 1024);
static_assert(ProbeController::kMaxId - 1 <= SentPacketHistory::kMaxProbeCluster,
              "every probe cluster id handed out fits in a slot");
static_assert(SentPacketHistory::kMaxProbeCluster + 1 < (1 << 7));

size_t index_of(int64_t unwrapped) {
  return size_t(unwrapped) % SentPacketHistory::kCapacity;
}
uint16_t high_bits_of(int64_t unwrapped) {
  return uint16_t(uint16_t(unwrapped) >> kIndexBits);
}
}  // namespace

SentPacketHistory::SentPacketHistory() = default;

int64_t SentPacketHistory::unwrap(uint16_t seq) const {
  if (newest_ < 0) return -1;
  return newest_ + int16_t(uint16_t(seq - uint16_t(newest_)));
}

void SentPacketHistory::rebase(int64_t send_us) {
  const int64_t base = send_us - kBaseLeadUs;
  const int64_t shift = base - base_us_;
  for (size_t i = 0; i < kCapacity; ++i) {
    SentPacketSlot& s = ring_[i];
    if (!s.used) continue;
    const int64_t offset = int64_t(s.send_offset_us) - shift;
    if (offset < 0 || offset >= kTimeSpanUs) {
      s = {};  // too far from the new base: forgotten
    } else {
      s.send_offset_us = uint32_t(offset);
    }
  }
  base_us_ = base;
}

int64_t SentPacketHistory::on_sent(uint16_t seq, Timestamp at, size_t bytes, int probe_cluster) {
  const int64_t send_us = to_us(at);
  int64_t unwrapped;
  if (newest_ < 0) {
    // The ring comes with the first packet numbered transport-wide: a
    // viewer that negotiated no transport-cc never sends one and keeps its
    // 8 KiB. Once per viewer, so the per-packet path still allocates nothing.
    if (!ring_) ring_.reset(new SentPacketSlot[kCapacity]());
    unwrapped = kFirstCycle + seq;
    newest_ = unwrapped;
    base_us_ = send_us - kBaseLeadUs;
  } else {
    unwrapped = unwrap(seq);
    if (newest_ - unwrapped >= int64_t(kCapacity)) return unwrapped;  // its slot is a newer one's
    if (unwrapped > newest_) {
      // Numbers skipped by a jump were never sent: clear what their slots
      // hold (a packet kCapacity or more numbers earlier, perhaps one with
      // the same 16-bit number) so that feedback for them finds nothing.
      for (int64_t s = std::max(newest_ + 1, unwrapped - int64_t(kCapacity) + 1); s < unwrapped;
           ++s) {
        ring_[index_of(s)] = {};
      }
      newest_ = unwrapped;
    }
    const int64_t offset = send_us - base_us_;
    if (offset < 0 || offset >= kTimeSpanUs) rebase(send_us);
  }

  SentPacketSlot& p = ring_[index_of(unwrapped)];
  p = {};
  p.send_offset_us = uint32_t(send_us - base_us_);
  p.size = uint16_t(std::min<size_t>(bytes, 0xFFFF));
  p.seq_high = high_bits_of(unwrapped);
  p.cluster =
      uint16_t(probe_cluster >= 0 && probe_cluster <= kMaxProbeCluster ? probe_cluster + 1 : 0);
  p.used = 1;
  return unwrapped;
}

void SentPacketHistory::set_send_time(uint16_t seq, Timestamp at) {
  SentPacket p = find(seq);
  if (!p || p.acked()) return;
  const int64_t offset = to_us(at) - base_us_;
  if (offset < 0 || offset >= kTimeSpanUs) return;
  p.slot_->send_offset_us = uint32_t(offset);
}

SentPacket SentPacketHistory::find(uint16_t seq) {
  if (newest_ < 0) return {};
  const int64_t unwrapped = unwrap(seq);
  if (unwrapped > newest_ || newest_ - unwrapped >= int64_t(kCapacity)) return {};
  SentPacketSlot& p = ring_[index_of(unwrapped)];
  if (!p.used || p.seq_high != high_bits_of(unwrapped)) return {};
  return SentPacket(&p, base_us_ + int64_t(p.send_offset_us));
}

}  // namespace lss::cc
