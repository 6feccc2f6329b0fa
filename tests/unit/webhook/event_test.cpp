#include "webhook/event.hpp"

#include <gtest/gtest.h>

#include <set>

#include "webhook/signature.hpp"

namespace lss::webhook {
namespace {

TEST(WebhookSignature, MatchesRfc4231Vectors) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1: a 20-byte key of 0x0b.
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(WebhookSignature, HeaderValueIsPrefixedHex) {
  // What the README's Node.js snippet computes:
  // crypto.createHmac('sha256', 'secret').update('{"a":1}').digest('hex')
  EXPECT_EQ(signature_header_value("secret", "{\"a\":1}"),
            "sha256=" + hmac_sha256_hex("secret", "{\"a\":1}"));
  EXPECT_EQ(signature_header_value("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookEvent, BodyHasIdTypeTimestampDataInOrder) {
  const std::string body = event_body("abc", EventType::kClipStored, "2026-01-02T03:04:05Z",
                                      {{"index", 3}, {"stream", "cam"}});
  EXPECT_EQ(body, R"({"id":"abc","type":"clip.stored","timestamp":"2026-01-02T03:04:05Z",)"
                  R"("data":{"index":3,"stream":"cam"}})");
  auto parsed = parse_event_body(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->id, "abc");
  EXPECT_EQ(parsed->type, EventType::kClipStored);
  EXPECT_EQ(parsed->timestamp, "2026-01-02T03:04:05Z");
}

TEST(WebhookEvent, StringsAreEscaped) {
  const std::string body =
      event_body("x", EventType::kViewerJoined, "t", viewer_data("a\"b", "s", "v", "[::1]:5"));
  auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["data"]["stream"], "a\"b");
  EXPECT_EQ(j["data"]["remote_address"], "[::1]:5");
  EXPECT_EQ(j["data"]["session_id"], "v");
  EXPECT_EQ(j["data"]["stream_id"], "s");
}

TEST(WebhookEvent, TypeNamesRoundTrip) {
  for (auto t : {EventType::kStreamStarted, EventType::kStreamEnded, EventType::kClipStored,
                 EventType::kUploadFailed, EventType::kViewerJoined, EventType::kViewerLeft}) {
    EXPECT_EQ(parse_type(type_name(t)), t);
  }
  EXPECT_EQ(type_name(EventType::kStreamStarted), "stream.started");
  EXPECT_EQ(type_name(EventType::kUploadFailed), "upload.failed");
  EXPECT_FALSE(parse_type("stream.paused"));
  EXPECT_TRUE(is_viewer_event(EventType::kViewerLeft));
  EXPECT_FALSE(is_viewer_event(EventType::kStreamEnded));
}

TEST(WebhookEvent, IdsAre128BitHexAndUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_event_id();
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(WebhookEvent, RejectsPartialBodies) {
  EXPECT_FALSE(parse_event_body("").ok());
  EXPECT_FALSE(parse_event_body(R"({"id":"a","type":"clip.stored","timestamp":"t","da)").ok());
  EXPECT_FALSE(parse_event_body(R"({"id":"a","type":"clip.stored","timestamp":"t"})").ok());
  EXPECT_FALSE(parse_event_body(R"({"id":"a","type":"nope","timestamp":"t","data":{}})").ok());
  EXPECT_FALSE(parse_event_body("[1,2]").ok());
}

}  // namespace
}  // namespace lss::webhook
