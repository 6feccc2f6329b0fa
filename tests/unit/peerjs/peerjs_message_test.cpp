#include "peerjs/peerjs_message.hpp"

#include <gtest/gtest.h>

namespace lss::peerjs {
namespace {

TEST(PeerJsMessage, ParsesServerControlMessages) {
  auto open = parse(R"({"type":"OPEN"})");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->type, Type::kOpen);
  auto taken = parse(R"({"type":"ID-TAKEN","payload":{"msg":"ID is taken"}})");
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->type, Type::kIdTaken);
  EXPECT_EQ(taken->error, "ID is taken");
  auto expire = parse(R"({"type":"EXPIRE","src":"bob","dst":"me"})");
  ASSERT_TRUE(expire.ok());
  EXPECT_EQ(expire->type, Type::kExpire);
  EXPECT_EQ(expire->src, "bob");
  auto other = parse(R"({"type":"SOMETHING-NEW","payload":5})");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->type, Type::kUnknown);
  EXPECT_EQ(other->type_name, "SOMETHING-NEW");
}

TEST(PeerJsMessage, ParsesAMediaOfferAsPeerJs15SendsIt) {
  // As relayed by the `peer` server: src set by the server, sdp an
  // RTCSessionDescription object, metadata passed through.
  auto m = parse(R"({"type":"OFFER","src":"viewer-1","dst":"lss-x",
    "payload":{"sdp":{"type":"offer","sdp":"v=0\r\n"},"type":"media",
               "connectionId":"mc_abc","metadata":{"k":1},"browser":"chrome"}})");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->type, Type::kOffer);
  EXPECT_EQ(m->src, "viewer-1");
  EXPECT_EQ(m->connection_id, "mc_abc");
  EXPECT_EQ(m->connection_type, "media");
  EXPECT_EQ(m->sdp, "v=0\r\n");
  EXPECT_EQ(m->metadata["k"], 1);
}

TEST(PeerJsMessage, RejectsMalformedFrames) {
  EXPECT_FALSE(parse("").ok());
  EXPECT_FALSE(parse("not json").ok());
  EXPECT_FALSE(parse("[1,2]").ok());
  EXPECT_FALSE(parse(R"({"payload":{}})").ok());                            // no type
  EXPECT_FALSE(parse(R"({"type":"OFFER","payload":{"sdp":"v=0"}})").ok());  // sdp not an object
  EXPECT_FALSE(parse(R"({"type":"ANSWER","payload":{"sdp":{"sdp":"v=0"}}})").ok());  // no id
  EXPECT_FALSE(parse(R"({"type":"CANDIDATE","payload":{"candidate":{}}})").ok());
  EXPECT_FALSE(parse(std::string(kMaxMessageBytes + 1, ' ')).ok());
  // Fields of the wrong JSON type are treated as absent, not trusted.
  auto m = parse(R"({"type":"LEAVE","src":42})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->src, "");
}

TEST(PeerJsMessage, BuildsFramesThePeerJsClientReads) {
  auto o = nlohmann::json::parse(offer("streamer", "mc_1", "v=0\r\n", {{"title", "t"}}));
  EXPECT_EQ(o["type"], "OFFER");
  EXPECT_EQ(o["dst"], "streamer");
  EXPECT_EQ(o["payload"]["type"], "media");
  EXPECT_EQ(o["payload"]["connectionId"], "mc_1");
  EXPECT_EQ(o["payload"]["sdp"]["type"], "offer");
  EXPECT_EQ(o["payload"]["sdp"]["sdp"], "v=0\r\n");
  EXPECT_EQ(o["payload"]["metadata"]["title"], "t");
  auto bare = nlohmann::json::parse(offer("s", "mc_1", "v=0", nullptr));
  EXPECT_FALSE(bare["payload"].contains("metadata"));
  auto a = nlohmann::json::parse(answer("viewer", "mc_2", "v=0"));
  EXPECT_EQ(a["type"], "ANSWER");
  EXPECT_EQ(a["payload"]["sdp"]["type"], "answer");
  EXPECT_EQ(a["payload"]["connectionId"], "mc_2");
  EXPECT_EQ(nlohmann::json::parse(leave("v"))["type"], "LEAVE");
  EXPECT_EQ(nlohmann::json::parse(heartbeat())["type"], "HEARTBEAT");
  // Our own frames parse back.
  auto back = parse(answer("viewer", "mc_2", "v=0"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->connection_id, "mc_2");
}

TEST(PeerJsMessage, SocketTargetNormalisesThePathAndEscapes) {
  EXPECT_EQ(socket_target("/", "peerjs", "id1", "tok"),
            "/peerjs?key=peerjs&id=id1&token=tok&version=1.5.5");
  EXPECT_EQ(socket_target("myapp", "k", "a b", "t"),
            "/myapp/peerjs?key=k&id=a%20b&token=t&version=1.5.5");
  EXPECT_EQ(socket_target("", "k&x=1", "i", "t"),
            "/peerjs?key=k%26x%3D1&id=i&token=t&version=1.5.5");
}

TEST(PeerJsMessage, IdsFollowThePeerJsRule) {
  EXPECT_TRUE(valid_id("abc"));
  EXPECT_TRUE(valid_id("a-b_c d1"));
  EXPECT_TRUE(valid_id("3133e666-c7ad-4f6b-a598-f2a2a94beae3"));
  EXPECT_FALSE(valid_id(""));
  EXPECT_FALSE(valid_id("-a"));
  EXPECT_FALSE(valid_id("a-"));
  EXPECT_FALSE(valid_id("a--b"));
  EXPECT_FALSE(valid_id("a/b"));
  EXPECT_FALSE(valid_id("a.b"));
  for (const char* stream :
       {"cam1", "_x_", "--", "a-b_c", "0123456789012345678901234567890123456789xyz"}) {
    const std::string id = server_id_for_stream(stream);
    EXPECT_TRUE(valid_id(id)) << id;
    EXPECT_NE(id, server_id_for_stream(stream));  // random suffix
  }
  EXPECT_EQ(new_connection_id().rfind("mc_", 0), 0u);
}

}  // namespace
}  // namespace lss::peerjs
