#pragma once
// What was sent to one viewer, by transport-wide sequence number, kept until
// its transport-cc feedback comes back. A fixed ring allocated once at
// construction (16 bytes a slot): recording a sent packet is a store into it
// and never allocates. The 16-bit sequence numbers are unwrapped against the
// newest one sent, so feedback for any of the last kCapacity packets is found
// across a wrap-around, and anything older, newer or never sent is not.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/time.hpp"

namespace lss::cc {

struct SentPacket {
  static constexpr uint8_t kUsed = 1, kAcked = 2, kReportedLost = 4;
  int64_t send_us = 0;        // local send time, µs
  uint32_t seq = 0;           // low 32 bits of the unwrapped sequence number (checks the slot)
  uint16_t size = 0;          // bytes, saturated at 65535
  int8_t probe_cluster = -1;  // -1: not part of a probe
  uint8_t flags = 0;

  bool acked() const { return flags & kAcked; }
  bool reported_lost() const { return flags & kReportedLost; }
};
static_assert(sizeof(SentPacket) == 16);

class SentPacketHistory {
 public:
  // About 1 s of 1200-byte packets at 20 Mbit/s; several seconds at the rates
  // viewers usually get. Feedback comes every 50-100 ms plus a round trip.
  static constexpr size_t kCapacity = 2048;

  SentPacketHistory();

  // Records a sent packet; returns its unwrapped sequence number.
  int64_t on_sent(uint16_t seq, Timestamp at, size_t bytes, int probe_cluster);
  // The packet a feedback entry refers to, or nullptr when that sequence
  // number was never sent, is newer than the newest sent, or has left the ring.
  SentPacket* find(uint16_t seq);
  const SentPacket* find(uint16_t seq) const {
    return const_cast<SentPacketHistory*>(this)->find(seq);
  }
  // The unwrapped form of `seq` against the newest sent (-1 before any).
  int64_t unwrap(uint16_t seq) const;
  int64_t newest() const { return newest_; }

 private:
  std::unique_ptr<SentPacket[]> ring_;
  int64_t newest_ = -1;
};

}  // namespace lss::cc
