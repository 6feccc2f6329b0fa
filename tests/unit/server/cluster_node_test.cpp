// This node's membership, against a real redis-server on loopback.
#include "app/cluster_node.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "../cluster/redis_server.hpp"

namespace lss {
namespace {

using namespace std::chrono_literals;

TEST(ClusterNode, DefaultIdAndUrl) {
  EXPECT_TRUE(default_node_id(8080).ends_with("-8080"));
  EXPECT_EQ(default_node_url({"203.0.113.7", "10.0.0.1"}, 8080, false), "http://203.0.113.7:8080");
  EXPECT_EQ(default_node_url({"2001:db8::1"}, 443, true), "https://[2001:db8::1]:443");
  EXPECT_EQ(default_node_url({}, 8080, false), "http://127.0.0.1:8080");
}

TEST(ClusterNode, CpuShareIsAFraction) {
  CpuMeter meter;
  EXPECT_EQ(meter.sample(), 0.0);  // nothing to compare with yet
  const auto end = std::chrono::steady_clock::now() + 50ms;
  volatile uint64_t spin = 0;
  while (std::chrono::steady_clock::now() < end) spin = spin + 1;
  const double share = meter.sample();
  EXPECT_GT(share, 0.0);
  EXPECT_LE(share, 1.0);
}

TEST(ClusterNode, AnnouncesItsLoadAndWithdrawsAtStop) {
  testing::RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << redis.why_not();
  const auto url = cluster::parse_redis_url(redis.url()).value();
  cluster::NodeInfo self;
  self.id = "node-a";
  self.url = "http://127.0.0.1:8080";
  std::atomic<uint64_t> peers{3};
  ClusterNode node(url, self, [&](cluster::NodeInfo& n) { n.peers = peers.load(); });
  node.start();
  const auto listed = [&](uint64_t want) {
    for (int i = 0; i < 60; ++i) {
      auto nodes = node.nodes();
      if (nodes.size() == 1 && nodes[0].id == "node-a" && nodes[0].peers == want) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  EXPECT_TRUE(listed(3));
  EXPECT_TRUE(node.redis_ok());
  peers = 9;  // the next announcement carries the new load
  EXPECT_TRUE(listed(9));
  node.stop();
  cluster::RedisClient check(url);
  EXPECT_TRUE(check.command({"GET", "lss:node:node-a"})->nil());
  EXPECT_EQ(check.command({"SCARD", "lss:nodes"})->integer, 0);
}

}  // namespace
}  // namespace lss
