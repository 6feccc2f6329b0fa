// Against a real redis-server on loopback.
#include "cluster/redis_client.hpp"

#include <gtest/gtest.h>

#include "redis_server.hpp"

namespace lss::cluster {
namespace {

RedisUrl url_of(const testing::RedisServer& s) {
  return parse_redis_url(s.url()).value();
}

TEST(RedisClient, CommandsRepliesAndErrorsAsValues) {
  testing::RedisServer server;
  if (!server.running()) GTEST_SKIP() << server.why_not();
  RedisClient redis(url_of(server));
  auto pong = redis.command({"PING"});
  ASSERT_TRUE(pong.ok()) << pong.error().message;
  EXPECT_TRUE(pong->is("PONG"));
  // Binary-safe arguments.
  const std::string value("a\0b\r\nc", 6);
  ASSERT_TRUE(redis.checked({"SET", "k", value}).ok());
  auto got = redis.command({"GET", "k"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->str, value);
  EXPECT_TRUE(redis.command({"GET", "missing"})->nil());
  auto n = redis.command({"INCRBY", "counter", "5"});
  EXPECT_EQ(n->integer, 5);
  ASSERT_TRUE(redis.checked({"RPUSH", "list", "x", "y"}).ok());
  auto list = redis.command({"LRANGE", "list", "0", "-1"});
  ASSERT_EQ(list->elements.size(), 2u);
  EXPECT_EQ(list->elements[1].str, "y");
  // An error reply reached the server: a value from command(), a failure from checked().
  auto wrong = redis.command({"INCR", "list"});
  ASSERT_TRUE(wrong.ok());
  EXPECT_TRUE(wrong->error());
  EXPECT_FALSE(redis.checked({"INCR", "list"}).ok());
  EXPECT_TRUE(redis.connected());
}

TEST(RedisClient, AnUnreachableServerIsAnErrorNotAHang) {
  RedisUrl url;
  url.host = "127.0.0.1";
  url.port = 1;  // nothing listens there
  RedisClient redis(url, std::chrono::milliseconds(300));
  auto r = redis.command({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("redis redis://127.0.0.1:1"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(redis.connected());
}

TEST(RedisClient, ReconnectsAfterARedisRestart) {
  testing::RedisServer server;
  if (!server.running()) GTEST_SKIP() << server.why_not();
  RedisClient redis(url_of(server), std::chrono::milliseconds(500));
  ASSERT_TRUE(redis.checked({"SET", "k", "1"}).ok());
  server.stop();
  EXPECT_FALSE(redis.command({"GET", "k"}).ok());  // the call made while it is down fails
  EXPECT_FALSE(redis.connected());
  server.start();
  ASSERT_TRUE(server.running()) << server.why_not();
  auto r = redis.command({"PING"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->is("PONG"));
}

TEST(RedisClient, AuthenticatesAndSelectsTheDatabase) {
  testing::RedisServer server("pa:ss@word");
  if (!server.running()) GTEST_SKIP() << server.why_not();
  RedisUrl url = url_of(server);  // the password is taken up to the last '@'
  url.db = 3;
  RedisClient redis(url);
  ASSERT_TRUE(redis.checked({"SET", "where", "db3"}).ok());
  url.db = 0;
  RedisClient db0(url);
  EXPECT_TRUE(db0.command({"GET", "where"})->nil());
  url.password = "not-the-pass-42";
  RedisClient wrong(url);
  auto r = wrong.command({"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("AUTH"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("not-the-pass-42"), std::string::npos)
      << "the password is not logged";
}

}  // namespace
}  // namespace lss::cluster
