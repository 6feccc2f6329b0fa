#pragma once
// What was sent to one viewer, by transport-wide sequence number, kept until
// its transport-cc feedback comes back. A fixed ring of kCapacity 8-byte
// slots (8 KiB) allocated once, with the first packet sent: recording a sent packet is a
// store into it and never allocates, finding one is O(1). (Rarely, a send
// also walks part of the ring: a jump in sequence numbers clears the slots
// of the numbers skipped, a re-base of the send times below visits them
// all; at most kCapacity slots either way.)
//
// Sequence numbers: the 16-bit numbers are unwrapped against the newest one
// sent, so feedback for any of the last kCapacity numbers is found across a
// wrap-around, and anything older, newer or never sent is not (numbers
// skipped by a forward jump are cleared from the ring, so they cannot alias
// a packet 65536 numbers earlier).
//
// How long that is: 1024 packets are ~3.4 s at 300 packets/s (2.9 Mbit/s of
// 1200-byte packets) and ~0.5 s at 20 Mbit/s, the default max_bps.
// Feedback comes every 50-100 ms after a one-way delay: even at that rate
// the ring holds several feedback intervals plus a round trip of ~300 ms.
//
// Send times: kept as 32-bit microsecond offsets from a per-history base.
// When a send time does not fit (2^32 µs is ~71.6 min), the base is moved to
// 2^31 µs before it, and the entries that no longer fit are dropped (a walk
// over the ring, at most once per ~35.8 min of sending). So an entry keeps
// its exact send time as long as every later send time is within 2^31 µs
// (~35.8 min) of it, and one sent 2^32 µs or more before the newest is
// never found: an old entry is reported unknown, never given a wrong time.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/time.hpp"

namespace lss::cc {

// One slot of the ring, 8 bytes.
struct SentPacketSlot {
  uint32_t send_offset_us = 0;  // send time minus the history's base
  uint16_t size = 0;            // bytes, saturated at 65535
  // The slot's index is the sequence number's low 10 bits; its high 6 bits
  // tell which of the 64 numbers sharing the slot it is.
  uint16_t seq_high : 6 = 0;
  uint16_t cluster : 7 = 0;  // probe cluster id + 1; 0: not part of a probe
  uint16_t used : 1 = 0;
  uint16_t acked : 1 = 0;
  uint16_t reported_lost : 1 = 0;
};
static_assert(sizeof(SentPacketSlot) == 8);

// A packet found in the history: its fields decoded, and its feedback state
// writable in place. Like a pointer into the ring, valid until the next
// on_sent(). False when nothing was found.
class SentPacket {
 public:
  SentPacket() = default;
  explicit operator bool() const { return slot_ != nullptr; }

  int64_t send_us() const { return send_us_; }                   // local send time, µs
  size_t size() const { return slot_->size; }                    // bytes, saturated at 65535
  int probe_cluster() const { return int(slot_->cluster) - 1; }  // -1: not a probe
  bool acked() const { return slot_->acked; }
  bool reported_lost() const { return slot_->reported_lost; }
  void set_acked() { slot_->acked = 1; }
  void set_reported_lost(bool lost) { slot_->reported_lost = lost; }

 private:
  friend class SentPacketHistory;
  SentPacket(SentPacketSlot* slot, int64_t send_us) : slot_(slot), send_us_(send_us) {}

  SentPacketSlot* slot_ = nullptr;
  int64_t send_us_ = 0;
};

class SentPacketHistory {
 public:
  static constexpr size_t kCapacity = 1024;
  static constexpr size_t kRingBytes = kCapacity * sizeof(SentPacketSlot);
  // Probe cluster ids that are kept; others are recorded as not a probe.
  static constexpr int kMaxProbeCluster = 126;
  // Send times of the entries found span less than this (see above).
  static constexpr int64_t kTimeSpanUs = int64_t(1) << 32;

  SentPacketHistory();

  // Records a sent packet; returns its unwrapped sequence number. A packet
  // older than the ring (sent out of order by more than kCapacity) is not
  // recorded.
  int64_t on_sent(uint16_t seq, Timestamp at, size_t bytes, int probe_cluster);
  // The packet a feedback entry refers to, or nothing when that sequence
  // number was never sent, is newer than the newest sent, or has left the
  // ring (by number or by time).
  SentPacket find(uint16_t seq);
  // Corrects the send time of `seq` (recorded when it was handed to a pacer,
  // which sent it at `at`); nothing when it is not found, has been
  // acknowledged, or `at` does not fit the history's time span.
  void set_send_time(uint16_t seq, Timestamp at);
  // The unwrapped form of `seq` against the newest sent (-1 before any).
  int64_t unwrap(uint16_t seq) const;
  int64_t newest() const { return newest_; }

 private:
  void rebase(int64_t send_us);

  std::unique_ptr<SentPacketSlot[]> ring_;
  int64_t newest_ = -1;
  int64_t base_us_ = 0;  // send times are stored as offsets from this
};

}  // namespace lss::cc
