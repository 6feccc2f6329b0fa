// DatagramBatch: the messages gathered sends become in each SEND_PATH shape,
// and the GSO runs' rules (one size, the last may be shorter, at most 64
// segments and 65000 bytes per message).
#include "net/datagram_batch.hpp"

#include <gtest/gtest.h>
#include <netinet/udp.h>

#include <optional>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace lss::net {
namespace {

SocketAddress peer(uint16_t port) {
  return SocketAddress::ipv4(0x7f000001, port);
}

Bytes datagram(size_t size, uint8_t fill) {
  return Bytes(size, fill);
}

// What a message carries, as the kernel would read it.
struct Seen {
  uint16_t port = 0;
  std::vector<size_t> sizes;
  std::vector<uint8_t> first_bytes;
  std::optional<uint16_t> segment;
  bool pktinfo = false;
};

Seen read(const mmsghdr& m) {
  Seen s;
  const auto* a = static_cast<const sockaddr_in6*>(m.msg_hdr.msg_name);
  s.port = ntohs(a->sin6_port);
  for (size_t i = 0; i < m.msg_hdr.msg_iovlen; ++i) {
    s.sizes.push_back(m.msg_hdr.msg_iov[i].iov_len);
    s.first_bytes.push_back(static_cast<const uint8_t*>(m.msg_hdr.msg_iov[i].iov_base)[0]);
  }
  msghdr h = m.msg_hdr;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_SEGMENT) {
      uint16_t v;
      std::memcpy(&v, CMSG_DATA(c), sizeof v);
      s.segment = v;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      s.pktinfo = true;
    }
  }
  return s;
}

std::vector<Seen> read_all(std::span<mmsghdr> msgs) {
  std::vector<Seen> out;
  for (const auto& m : msgs) out.push_back(read(m));
  return out;
}

// Packets 1..3 of a burst, each to viewers A and B in turn (as the engine
// fans out), plus a shorter last packet.
void fan_out(DatagramBatch& b) {
  const std::vector<size_t> sizes = {1200, 1200, 1200, 700};
  for (size_t p = 0; p < sizes.size(); ++p) {
    ASSERT_TRUE(b.add(datagram(sizes[p], uint8_t(p)), peer(1000), nullptr));
    ASSERT_TRUE(b.add(datagram(sizes[p], uint8_t(p)), peer(2000), nullptr));
  }
}

TEST(DatagramBatch, PlainKeepsTheOrderTheyCameInOnePerMessage) {
  DatagramBatch b(true);
  fan_out(b);
  const auto seen = read_all(b.messages(SendShape::kPlain));
  ASSERT_EQ(seen.size(), 8u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].port, i % 2 ? 2000 : 1000);
    EXPECT_EQ(seen[i].first_bytes, std::vector<uint8_t>{uint8_t(i / 2)});
    EXPECT_FALSE(seen[i].segment);
  }
  EXPECT_EQ(b.datagrams(0), 1u);
  EXPECT_EQ(b.bytes(7), 700u);
}

TEST(DatagramBatch, GroupedPutsEachViewersDatagramsTogetherInOrder) {
  DatagramBatch b(true);
  fan_out(b);
  const auto seen = read_all(b.messages(SendShape::kGrouped));
  ASSERT_EQ(seen.size(), 8u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].port, i < 4 ? 1000 : 2000);
    EXPECT_EQ(seen[i].first_bytes, std::vector<uint8_t>{uint8_t(i % 4)});
    EXPECT_FALSE(seen[i].segment);
  }
}

TEST(DatagramBatch, GsoMakesOneMessagePerViewersRunWithAShorterLast) {
  DatagramBatch b(true);
  fan_out(b);
  const auto msgs = b.messages(SendShape::kGso);
  const auto seen = read_all(msgs);
  ASSERT_EQ(seen.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(seen[i].port, i == 0 ? 1000 : 2000);
    EXPECT_EQ(seen[i].sizes, (std::vector<size_t>{1200, 1200, 1200, 700}));
    EXPECT_EQ(seen[i].first_bytes, (std::vector<uint8_t>{0, 1, 2, 3}));
    EXPECT_EQ(seen[i].segment, 1200);
    EXPECT_EQ(b.datagrams(i), 4u);
    EXPECT_EQ(b.bytes(i), 4300u);
  }
}

TEST(DatagramBatch, AGsoRunEndsAtALargerDatagramAndAfterAShorterOne) {
  DatagramBatch b(true);
  for (size_t size : {1000, 1100, 1100, 900, 1100, 1100}) {
    ASSERT_TRUE(b.add(datagram(size, 1), peer(1000), nullptr));
  }
  const auto seen = read_all(b.messages(SendShape::kGso));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].sizes, std::vector<size_t>{1000});
  EXPECT_FALSE(seen[0].segment);  // a single datagram needs no GSO
  EXPECT_EQ(seen[1].sizes, (std::vector<size_t>{1100, 1100, 900}));
  EXPECT_EQ(seen[1].segment, 1100);
  EXPECT_EQ(seen[2].sizes, (std::vector<size_t>{1100, 1100}));
}

TEST(DatagramBatch, AGsoMessageHoldsAtMost64SegmentsAnd65000Bytes) {
  DatagramBatch b(true);
  for (int i = 0; i < 70; ++i) ASSERT_TRUE(b.add(datagram(500, 1), peer(1000), nullptr));
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(b.add(datagram(1200, 1), peer(2000), nullptr));
  const auto seen = read_all(b.messages(SendShape::kGso));
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].sizes.size(), 64u);
  EXPECT_EQ(seen[1].sizes.size(), 6u);
  EXPECT_EQ(seen[2].sizes.size(), 54u);  // 54 x 1200 = 64800
  EXPECT_EQ(seen[3].sizes.size(), 6u);
}

TEST(DatagramBatch, SplitGivesAGsoMessagesDatagramsOnePerMessage) {
  DatagramBatch b(true);
  fan_out(b);
  b.messages(SendShape::kGso);
  const auto seen = read_all(b.split(1));
  ASSERT_EQ(seen.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(seen[i].port, 2000);
    EXPECT_EQ(seen[i].first_bytes, std::vector<uint8_t>{uint8_t(i)});
    EXPECT_FALSE(seen[i].segment);
  }
}

TEST(DatagramBatch, TheSourceAddressGoesWithEveryMessage) {
  DatagramBatch b(true);
  const uint8_t source[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b.add(datagram(1200, 1), peer(1000), source));
  const auto gso = read_all(b.messages(SendShape::kGso));
  ASSERT_EQ(gso.size(), 1u);
  EXPECT_TRUE(gso[0].pktinfo);
  EXPECT_EQ(gso[0].segment, 1200);
  for (const auto& s : read_all(b.split(0))) EXPECT_TRUE(s.pktinfo);
}

TEST(DatagramBatch, ADatagramBuiltInTheSpareIsTakenWithoutACopy) {
  DatagramBatch b(true);
  uint8_t* spare = b.spare();
  std::memset(spare, 9, 1200);
  ASSERT_TRUE(b.add(ByteSpan(spare, 1200), peer(1000), nullptr));
  uint8_t* next = b.spare();
  EXPECT_NE(next, spare) << "the slot's old buffer is the next spare";
  std::memset(next, 5, 1200);  // building the next one leaves the first alone
  ASSERT_TRUE(b.add(datagram(1200, 7), peer(1000), nullptr));  // copied: the spare stays
  EXPECT_EQ(b.spare(), next);
  EXPECT_EQ(next[0], 5);
  const auto msgs = b.messages(SendShape::kGso);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].msg_hdr.msg_iov[0].iov_base, spare);
  const auto seen = read(msgs[0]);
  EXPECT_EQ(seen.first_bytes, (std::vector<uint8_t>{9, 7}));
}

TEST(DatagramBatch, FullAndOversizeAreRefusedAndClearStartsAfresh) {
  DatagramBatch b(true);
  EXPECT_FALSE(b.add(datagram(DatagramBatch::kSlotSize + 1, 1), peer(1000), nullptr));
  EXPECT_EQ(b.size(), 0u);
  for (size_t i = 0; i < DatagramBatch::kSlots; ++i) {
    // Many destinations: the table of destinations fills as far as it can.
    ASSERT_TRUE(b.add(datagram(100, 1), peer(uint16_t(1000 + i)), nullptr));
  }
  EXPECT_TRUE(b.full());
  EXPECT_FALSE(b.add(datagram(100, 1), peer(1000), nullptr));
  EXPECT_EQ(b.messages(SendShape::kGso).size(), DatagramBatch::kSlots);
  b.clear();
  EXPECT_EQ(b.size(), 0u);
  ASSERT_TRUE(b.add(datagram(100, 7), peer(1000), nullptr));
  ASSERT_TRUE(b.add(datagram(100, 8), peer(1000), nullptr));
  const auto seen = read_all(b.messages(SendShape::kGso));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first_bytes, (std::vector<uint8_t>{7, 8}));
}

}  // namespace
}  // namespace lss::net
