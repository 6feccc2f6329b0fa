#include <gtest/gtest.h>

#include "common/bytes.hpp"
#include "common/random.hpp"
#include "common/result.hpp"
#include "common/socket_address.hpp"

namespace lss {
namespace {

TEST(ByteReader, ReadsBigEndianAndFailsPastTheEnd) {
  const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05};
  ByteReader r(data);
  EXPECT_EQ(r.u16(), 0x0102);
  EXPECT_EQ(r.u16(), 0x0304);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.u32(), 0u);  // only one byte left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.u8(), 0);  // stays failed
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ByteWriter, WritesBigEndian) {
  Bytes out;
  ByteWriter w(out);
  w.u16(0xabcd);
  w.u24(0x010203);
  w.u32(0xdeadbeef);
  EXPECT_EQ(out, (Bytes{0xab, 0xcd, 1, 2, 3, 0xde, 0xad, 0xbe, 0xef}));
}

TEST(Result, HoldsValueOrError) {
  Result<int> good(5);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 5);
  Result<int> bad(make_error("nope"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "nope");
  Status s = make_error("x");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(Random, IceCharsHaveTheRightAlphabet) {
  const std::string s = random_ice_chars(64);
  ASSERT_EQ(s.size(), 64u);
  for (char c : s) EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/');
  EXPECT_NE(random_ice_chars(22), random_ice_chars(22));
  EXPECT_EQ(random_hex(8).size(), 16u);
}

TEST(SocketAddress, ParsesPrintsAndKnowsLoopback) {
  auto a = SocketAddress::parse("127.0.0.1", 5000);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_loopback());
  EXPECT_EQ(a->to_string(), "127.0.0.1:5000");
  auto b = SocketAddress::parse("::1", 7);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->is_loopback());
  EXPECT_EQ(b->to_string(), "[::1]:7");
  auto c = SocketAddress::parse("10.1.2.3", 1);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->is_loopback());
  EXPECT_FALSE(SocketAddress::parse("not-an-ip", 1));
  EXPECT_EQ(SocketAddress::ipv4(0x7f000001, 9), *a == *a ? SocketAddress::ipv4(0x7f000001, 9) : *a);
  EXPECT_TRUE(SocketAddress::ipv4(0x7f000001, 5000) == *a);
}

}  // namespace
}  // namespace lss
