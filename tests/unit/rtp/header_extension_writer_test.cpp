// set_header_extension: overwrite, add into padding, grow a block, add a
// block, two-byte form; the payload and padding survive every move.
#include "rtp/header_extension_writer.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "rtp/rtp_packet.hpp"

namespace lss {
namespace {

const std::vector<uint8_t> kPayload = {0x10, 0x50, 1, 2, 3, 4, 5};

std::vector<uint8_t> packet(std::vector<uint8_t> ext_block, bool padding = false) {
  std::vector<uint8_t> p = {0x80, 96, 0, 7, 0, 0, 0, 9, 0, 0, 0, 5};
  if (!ext_block.empty()) {
    p[0] |= 0x10;
    p.insert(p.end(), ext_block.begin(), ext_block.end());
  }
  p.insert(p.end(), kPayload.begin(), kPayload.end());
  if (padding) {
    p[0] |= 0x20;
    p.insert(p.end(), {0, 0, 3});
  }
  return p;
}

void expect_intact(std::vector<uint8_t>& buf, size_t size, uint8_t id, uint16_t seq,
                   bool padding = false) {
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(buf.data(), size, pkt));
  ByteSpan v = pkt.find_extension(id);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(load_be16(v.data()), seq);
  ASSERT_EQ(pkt.payload().size(), kPayload.size());
  EXPECT_TRUE(std::equal(kPayload.begin(), kPayload.end(), pkt.payload().begin()));
  EXPECT_EQ(pkt.padding_size(), padding ? 3u : 0u);
  EXPECT_EQ(pkt.sequence_number(), 7);
}

size_t set(std::vector<uint8_t>& buf, size_t size, uint8_t id, uint16_t seq) {
  uint8_t v[2];
  store_be16(v, seq);
  buf.resize(size + 64);
  return set_header_extension(buf.data(), size, buf.size(), id, ByteSpan(v, 2));
}

TEST(HeaderExtensionWriter, OverwritesAnElementInPlace) {
  // One-byte block: id 3 (2 bytes) + padding.
  auto p = packet({0xBE, 0xDE, 0, 1, 0x31, 0xaa, 0xbb, 0});
  const size_t size = p.size();
  EXPECT_EQ(set(p, size, 3, 0x1234), size);
  expect_intact(p, size, 3, 0x1234);
}

TEST(HeaderExtensionWriter, AddsIntoTrailingPadding) {
  // id 2 with one byte, then 2 bytes of padding: id 5 needs 3 bytes, so the
  // block grows by a word.
  auto p = packet({0xBE, 0xDE, 0, 1, 0x20, 0x77, 0, 0}, true);
  const size_t size = p.size();
  const size_t n = set(p, size, 5, 0xbeef);
  EXPECT_EQ(n, size + 4);
  expect_intact(p, n, 5, 0xbeef, true);
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(p.data(), n, pkt));
  EXPECT_EQ(pkt.find_extension(2).size(), 1u);
  // A block with room: id 1 (1 byte) then 6 bytes of padding.
  auto q = packet({0xBE, 0xDE, 0, 2, 0x10, 0x01, 0, 0, 0, 0, 0, 0});
  const size_t qs = q.size();
  EXPECT_EQ(set(q, qs, 5, 42), qs);
  expect_intact(q, qs, 5, 42);
}

TEST(HeaderExtensionWriter, AddsABlockWhereThereIsNone) {
  auto p = packet({}, true);
  const size_t size = p.size();
  const size_t n = set(p, size, 4, 999);
  EXPECT_EQ(n, size + 8);
  expect_intact(p, n, 4, 999, true);
  // Ids over 14 need the two-byte form.
  auto q = packet({});
  const size_t m = set(q, q.size(), 20, 7);
  ASSERT_GT(m, 0u);
  expect_intact(q, m, 20, 7);
}

TEST(HeaderExtensionWriter, TwoByteBlocks) {
  auto p = packet({0x10, 0x00, 0, 1, 9, 1, 0x55, 0});
  const size_t size = p.size();
  const size_t n = set(p, size, 30, 0x0102);
  ASSERT_GT(n, 0u);
  expect_intact(p, n, 30, 0x0102);
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(p.data(), n, pkt));
  EXPECT_EQ(pkt.find_extension(9).size(), 1u);
}

TEST(HeaderExtensionWriter, RefusesWhatItCannotDo) {
  uint8_t v[2] = {1, 2};
  auto p = packet({});
  EXPECT_EQ(set_header_extension(p.data(), p.size(), p.size(), 3, ByteSpan(v, 2)), 0u);  // full
  auto q = packet({0xBE, 0xDE, 0, 1, 0x30, 0xaa, 0, 0});  // id 3 with 1 byte
  q.resize(q.size() + 16);
  EXPECT_EQ(set_header_extension(q.data(), q.size() - 16, q.size(), 3, ByteSpan(v, 2)), 0u);
  auto r = packet({0x12, 0x34, 0, 1, 0, 0, 0, 0});  // unknown profile
  r.resize(r.size() + 16);
  EXPECT_EQ(set_header_extension(r.data(), r.size() - 16, r.size(), 3, ByteSpan(v, 2)), 0u);
  auto t = packet({0xBE, 0xDE, 0, 9});  // length beyond the packet
  t.resize(t.size() + 16);
  EXPECT_EQ(set_header_extension(t.data(), t.size() - 16, t.size(), 3, ByteSpan(v, 2)), 0u);
  uint8_t junk[5] = {0x80, 0, 0, 0, 0};
  EXPECT_EQ(set_header_extension(junk, 5, 5, 3, ByteSpan(v, 2)), 0u);
}

}  // namespace
}  // namespace lss
