#include "signal/publish_auth.hpp"

#include <gtest/gtest.h>

namespace lss::signal {
namespace {

TEST(PublishAuth, BearerToken) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token(""), "");
}

TEST(PublishAuth, KeyRequiredWhenConfigured) {
  const auto loop = *SocketAddress::parse("127.0.0.1", 1);
  const auto remote = *SocketAddress::parse("192.0.2.7", 1);
  EXPECT_EQ(authorize_publish("s3cret", "s3cret", remote), AuthDecision::kAllowed);
  EXPECT_EQ(authorize_publish("s3cret", "s3cre", remote), AuthDecision::kWrongKey);
  EXPECT_EQ(authorize_publish("s3cret", "", loop), AuthDecision::kMissingKey);
  EXPECT_EQ(authorize_publish("s3cret", "wrong", loop), AuthDecision::kWrongKey);
}

TEST(PublishAuth, LoopbackOnlyWithoutKey) {
  EXPECT_EQ(authorize_publish("", "", *SocketAddress::parse("127.0.0.1", 1)),
            AuthDecision::kAllowed);
  EXPECT_EQ(authorize_publish("", "", *SocketAddress::parse("::1", 1)), AuthDecision::kAllowed);
  EXPECT_EQ(authorize_publish("", "x", *SocketAddress::parse("198.51.100.1", 1)),
            AuthDecision::kLoopbackOnly);
}

TEST(PublishAuth, StreamNames) {
  EXPECT_TRUE(valid_stream_name("cam_1-A"));
  EXPECT_TRUE(valid_stream_name(std::string(64, 'a')));
  EXPECT_FALSE(valid_stream_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_stream_name(""));
  EXPECT_FALSE(valid_stream_name("../x"));
  EXPECT_FALSE(valid_stream_name("a b"));
  EXPECT_FALSE(valid_stream_name("a/b"));
  EXPECT_FALSE(valid_stream_name("a%2e"));
  EXPECT_FALSE(valid_stream_name(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace lss::signal
