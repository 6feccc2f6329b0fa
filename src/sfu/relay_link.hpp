#pragma once
// Cross-worker fan-out: one stream's packets handed from its worker (the
// origin) to another media worker that serves some of its viewers (a relay).
// The origin rewrites each packet once and copies it into the link's ring; the
// relay's worker drains the ring when woken and fans the packets out to its
// own viewers. One link per (stream, relay worker), single producer and single
// consumer, so neither side takes a lock or allocates per packet. Control
// flags go back the other way as atomics, read on the origin's tick.
#include <atomic>
#include <functional>

#include "record/packet_ring.hpp"

namespace lss::sfu {

struct RelayLink {
  // Slot flags on the ring's track byte (the low bits are the track index).
  static constexpr uint8_t kSenderReportFlag = record::PacketRing::kSenderReportFlag;
  static constexpr uint8_t kKeyframeFlag = 0x40;  // first packet of a keyframe
  static constexpr uint8_t kTrackMask = 0x3f;
  // 256 slots of 1.5 KB (384 KiB per relay): half a second of a 5 Mbps
  // stream, a whole keyframe burst, far more than a relay lags between wakes.
  static constexpr size_t kSlots = 256;

  explicit RelayLink(std::function<void()> wake_relay) : wake(std::move(wake_relay)) {}

  record::PacketRing ring{kSlots};  // origin -> relay: RTP, and SRs (whole RTCP packets)
  // Wakes the relay's worker (thread-safe; the origin calls it after each
  // push, and it costs an eventfd write only when the relay is not already
  // woken).
  const std::function<void()> wake;

  std::atomic<int> viewers{0};  // relay -> origin: push only while > 0
  // relay -> origin: keyframes its viewers asked for, one bit per source
  // (sfu::source_index: track and simulcast layer).
  std::atomic<uint64_t> keyframe_wanted{0};
  std::atomic<bool> relay_gone{false};    // relay -> origin: stop pushing, drop the link
  std::atomic<bool> origin_ended{false};  // origin -> relay: the stream ended
};

}  // namespace lss::sfu
