#include "cluster/redis_url.hpp"

#include <gtest/gtest.h>

namespace lss::cluster {
namespace {

TEST(RedisUrl, HostPortDatabaseAndPassword) {
  auto u = parse_redis_url("redis://:s%40cret@redis.internal:6380/2");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->host, "redis.internal");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 2);
  EXPECT_EQ(u->user, "");
  EXPECT_EQ(u->password, "s@cret");
  EXPECT_EQ(u->redacted(), "redis://:***@redis.internal:6380/2");
}

TEST(RedisUrl, DefaultsAndAclUserAndIpv6) {
  auto u = parse_redis_url("redis://localhost");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 0);
  auto acl = parse_redis_url("redis://lss:pw@10.0.0.5");
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(acl->user, "lss");
  EXPECT_EQ(acl->password, "pw");
  auto v6 = parse_redis_url("redis://[fd00::1]:7000/");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "fd00::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_EQ(v6->redacted(), "redis://[fd00::1]:7000");
}

TEST(RedisUrl, UnixSocket) {
  auto u = parse_redis_url("unix:///run/redis/redis.sock?db=3");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->socket_path, "/run/redis/redis.sock");
  EXPECT_EQ(u->db, 3);
  EXPECT_TRUE(u->host.empty());
}

TEST(RedisUrl, RefusesWhatItCannotUse) {
  for (const char* bad : {"", "http://x", "redis://", "redis://:pw@", "redis://h:0",
                          "redis://h:99999", "redis://h:12x", "redis://h/db", "redis://[::1",
                          "redis://[::1]x", "redis://:%4@h", "unix://relative", "unix:///s?x=1"}) {
    auto u = parse_redis_url(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_NE(u.error().message.find("invalid REDIS_URL"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace lss::cluster
