#include "socketio/codec.hpp"

#include <gtest/gtest.h>

namespace lss::socketio {
namespace {

TEST(SocketIoCodec, SplitsAndJoinsPollingPayloads) {
  auto parts = split_payload(
      "4hello\x1e"
      "2\x1e"
      "4world");
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "4hello");
  EXPECT_EQ(parts[1], "2");
  EXPECT_EQ(join_payload({"40", "2"}), std::string("40\x1e"
                                                   "2"));
  EXPECT_TRUE(split_payload("").empty());
}

TEST(SocketIoCodec, ParsesTheProtocolExamples) {
  auto p = parse_packet("0");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->type, kConnect);
  EXPECT_EQ(p->nsp, "/");
  p = parse_packet("0/admin,{\"token\":\"abc\"}");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->nsp, "/admin");
  EXPECT_EQ(p->json, "{\"token\":\"abc\"}");
  p = parse_packet("212[\"getRoom\",\"r1\"]");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->type, kEvent);
  EXPECT_EQ(p->ack_id, 12u);
  p = parse_packet("20[\"x\"]");  // ack id 0, not an event named 0
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ack_id, 0u);
  EXPECT_EQ(p->json, "[\"x\"]");
  p = parse_packet("1/admin,");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->type, kDisconnect);
}

TEST(SocketIoCodec, EncodesMessages) {
  EXPECT_EQ(encode_message({kConnect, "/", std::nullopt, "{\"sid\":\"a\"}"}), "40{\"sid\":\"a\"}");
  EXPECT_EQ(encode_message({kAck, "/admin", 13, "[\"bar\"]"}), "43/admin,13[\"bar\"]");
  EXPECT_EQ(encode_message({kConnectError, "/", std::nullopt, "{\"message\":\"no\"}"}),
            "44{\"message\":\"no\"}");
}

TEST(SocketIoCodec, RejectsMalformed) {
  EXPECT_FALSE(parse_packet("").ok());
  EXPECT_FALSE(parse_packet("9").ok());
  EXPECT_FALSE(parse_packet("2hello").ok());
  EXPECT_FALSE(
      parse_packet("51-[\"f\",{\"_placeholder\":true,\"num\":0}]").ok());  // binary: unsupported
  EXPECT_FALSE(parse_packet("2" + std::string(20, '1') + "[]").ok());
}

}  // namespace
}  // namespace lss::socketio
