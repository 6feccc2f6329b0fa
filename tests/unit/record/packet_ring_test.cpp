// PacketRing: drain frees each slot as it goes; visit keeps the visited
// slots from the producer until release, so their data can be read later
// (the relay's batched fan-out).
#include "record/packet_ring.hpp"

#include <gtest/gtest.h>

namespace lss::record {
namespace {

bool push(PacketRing& ring, uint8_t v) {
  const uint8_t data[4] = {v, v, v, v};
  return ring.push(0, data, sizeof data, Timestamp{});
}

TEST(PacketRing, VisitedSlotsStayTheConsumersUntilReleased) {
  PacketRing ring(4);
  for (uint8_t v = 1; v <= 4; ++v) ASSERT_TRUE(push(ring, v));
  EXPECT_FALSE(push(ring, 5));  // full
  std::vector<const uint8_t*> seen;
  EXPECT_EQ(ring.visit([&](PacketRing::Slot& s) { seen.push_back(s.data); }, 3), 3u);
  EXPECT_FALSE(push(ring, 5)) << "visited slots are not the producer's yet";
  EXPECT_EQ(seen[0][0], 1);
  EXPECT_EQ(seen[2][0], 3);
  ring.release(2);
  EXPECT_TRUE(push(ring, 5));
  EXPECT_TRUE(push(ring, 6));
  EXPECT_FALSE(push(ring, 7));
  EXPECT_EQ(seen[2][0], 3) << "the third visited slot was not released";
  ring.release(1);
  std::vector<uint8_t> rest;
  ring.drain([&](PacketRing::Slot& s) { rest.push_back(s.data[0]); });
  EXPECT_EQ(rest, (std::vector<uint8_t>{4, 5, 6}));
  EXPECT_EQ(ring.dropped(), 3u);
}

}  // namespace
}  // namespace lss::record
