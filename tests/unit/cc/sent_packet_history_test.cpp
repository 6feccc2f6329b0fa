#include "cc/sent_packet_history.hpp"

#include <gtest/gtest.h>

#include "cc/bwe_types.hpp"

namespace lss::cc {
namespace {

const Timestamp kT0 = Timestamp{} + std::chrono::hours(1);

TEST(SentPacketHistory, FindsWhatWasSent) {
  SentPacketHistory h;
  EXPECT_EQ(h.find(0), nullptr);  // nothing sent yet
  h.on_sent(10, kT0, 1200, -1);
  h.on_sent(11, kT0 + milliseconds(1), 300, 4);
  const SentPacket* p = h.find(11);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->size, 300);
  EXPECT_EQ(p->probe_cluster, 4);
  EXPECT_EQ(p->send_us, to_us(kT0 + milliseconds(1)));
  EXPECT_FALSE(p->acked());
  EXPECT_EQ(h.find(10)->size, 1200);
  EXPECT_EQ(h.find(12), nullptr);  // newer than the newest sent
  EXPECT_EQ(h.find(9), nullptr);   // never sent
}

TEST(SentPacketHistory, UnwrapsAcrossManyWraps) {
  SentPacketHistory h;
  uint16_t seq = 65'530;
  int64_t first = -1, last = -1;
  for (int i = 0; i < 200'000; ++i) {  // three wraps
    last = h.on_sent(seq, kT0 + std::chrono::microseconds(i), 1000 + i % 200, -1);
    if (first < 0) first = last;
    ++seq;
    // The recent past is always found, with the right packet.
    if (i > 10 && i % 997 == 0) {
      const SentPacket* p = h.find(uint16_t(seq - 5));
      ASSERT_NE(p, nullptr) << i;
      EXPECT_EQ(p->size, 1000 + (i - 4) % 200);
    }
  }
  EXPECT_EQ(last - first, 199'999);
  const uint16_t newest = uint16_t(seq - 1);
  EXPECT_NE(h.find(newest), nullptr);
  EXPECT_NE(h.find(uint16_t(newest - (SentPacketHistory::kCapacity - 1))), nullptr);
  EXPECT_EQ(h.find(uint16_t(newest - SentPacketHistory::kCapacity)), nullptr);  // left the ring
  EXPECT_EQ(h.find(uint16_t(newest - 30'000)), nullptr);
  EXPECT_EQ(h.find(uint16_t(newest + 1)), nullptr);
}

TEST(SentPacketHistory, SequenceGapsAreNotConfusedWithOldPackets) {
  SentPacketHistory h;
  h.on_sent(0, kT0, 100, -1);
  // Jump ahead by exactly the ring size: slot 0 is reused by 2048, and the
  // skipped numbers were never sent.
  h.on_sent(uint16_t(SentPacketHistory::kCapacity), kT0, 200, -1);
  EXPECT_EQ(h.find(uint16_t(SentPacketHistory::kCapacity))->size, 200);
  EXPECT_EQ(h.find(0), nullptr);
  EXPECT_EQ(h.find(5), nullptr);
  // A step back (reordered send order) is recorded without moving the newest.
  h.on_sent(uint16_t(SentPacketHistory::kCapacity - 1), kT0, 300, -1);
  EXPECT_EQ(h.find(uint16_t(SentPacketHistory::kCapacity - 1))->size, 300);
  EXPECT_EQ(h.unwrap(uint16_t(SentPacketHistory::kCapacity)), h.newest());
}

TEST(SentPacketHistory, SaturatesOddSizesAndClusterIds) {
  SentPacketHistory h;
  h.on_sent(1, kT0, 1'000'000, 1000);
  EXPECT_EQ(h.find(1)->size, 0xFFFF);
  EXPECT_EQ(h.find(1)->probe_cluster, -1);
}

}  // namespace
}  // namespace lss::cc
