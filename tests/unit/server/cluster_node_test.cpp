// This node's membership, against a real redis-server on loopback.
#include "app/cluster_node.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "../cluster/redis_server.hpp"
#include "../support/eventually.hpp"

namespace lss {
namespace {

using namespace std::chrono_literals;
using testing::eventually;

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
  ClusterNode node(url, [&](cluster::NodeInfo& n) { n.peers = peers.load(); });
  node.start(self);
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

// A claim's answer, waited for (no poster: it comes on the cluster thread).
signal::StreamClaim claim(ClusterNode& node, const std::string& stream) {
  std::promise<signal::StreamClaim> p;
  node.claim(stream, [&](const signal::StreamClaim& c) { p.set_value(c); });
  auto f = p.get_future();
  EXPECT_EQ(f.wait_for(3s), std::future_status::ready);
  return f.get();
}

cluster::NodeInfo info(const std::string& id) {
  cluster::NodeInfo n;
  n.id = id;
  n.url = "http://127.0.0.1:" + std::to_string(8000 + id.back());
  return n;
}

// The Redis key of a stream's lease, read from outside (nil: free).
std::string lease_owner(const cluster::RedisUrl& url, const std::string& stream) {
  cluster::RedisClient check(url);
  auto r = check.command({"GET", "lss:stream:" + stream});
  return r.ok() && !r->nil() ? r->str : std::string();
}

TEST(ClusterNode, OneOwnerPerStreamAcrossNodes) {
  testing::RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << redis.why_not();
  const auto url = cluster::parse_redis_url(redis.url()).value();
  ClusterNode a(url, nullptr), b(url, nullptr);
  a.start(info("node-a"));
  b.start(info("node-b"));
  ASSERT_TRUE(eventually([&] { return b.nodes().size() == 2; }));

  auto first = claim(a, "cam");
  EXPECT_EQ(first.outcome, signal::StreamClaim::Outcome::kOurs);
  a.settle("cam", true);
  // The other node learns who has it, with the URL it announced.
  auto second = claim(b, "cam");
  EXPECT_EQ(second.outcome, signal::StreamClaim::Outcome::kElsewhere);
  EXPECT_EQ(second.owner, "node-a");
  EXPECT_EQ(second.owner_url, info("node-a").url);
  EXPECT_EQ(signal::live_elsewhere_reason("cam", second),
            "stream 'cam' is live on node 'node-a' (" + info("node-a").url + ")");
  // The owner itself may claim again (a retry; the engine says 409 if live).
  EXPECT_EQ(claim(a, "cam").outcome, signal::StreamClaim::Outcome::kOurs);
  a.settle("cam", false);  // that retry failed: the live stream keeps its lease
  // Renewed past its TTL while live.
  std::this_thread::sleep_for(ClusterNode::kLeaseTtl + 1s);
  EXPECT_EQ(lease_owner(url, "cam"), "node-a");
  EXPECT_EQ(a.leases_held(), 1u);
  // The stream ends: the name is free at once, for any node.
  a.ended("cam");
  ASSERT_TRUE(eventually([&] { return lease_owner(url, "cam").empty(); }));
  EXPECT_EQ(claim(b, "cam").outcome, signal::StreamClaim::Outcome::kOurs);
  b.settle("cam", true);
  EXPECT_EQ(lease_owner(url, "cam"), "node-b");
  // A clean stop gives its names back.
  b.stop();
  EXPECT_TRUE(lease_owner(url, "cam").empty());
}

TEST(ClusterNode, FailedPublishGivesTheNameBack) {
  testing::RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << redis.why_not();
  const auto url = cluster::parse_redis_url(redis.url()).value();
  ClusterNode a(url, nullptr);
  a.start(info("node-a"));
  // Two publishes of one name pending at once: the name stays until both settle.
  EXPECT_EQ(claim(a, "cam").outcome, signal::StreamClaim::Outcome::kOurs);
  EXPECT_EQ(claim(a, "cam").outcome, signal::StreamClaim::Outcome::kOurs);
  a.settle("cam", false);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(lease_owner(url, "cam"), "node-a");
  a.settle("cam", false);
  EXPECT_TRUE(eventually([&] { return lease_owner(url, "cam").empty(); }));
  EXPECT_EQ(a.leases_held(), 0u);
}

TEST(ClusterNode, DeadOwnersNamesExpire) {
  testing::RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << redis.why_not();
  const auto url = cluster::parse_redis_url(redis.url()).value();
  // A node that dies without a word (kill -9) stops renewing: here, a lease
  // written as it would have, never renewed.
  cluster::RedisClient direct(url);
  cluster::StreamLeases dead(direct);
  ASSERT_TRUE(dead.acquire("cam", "node-dead", 5000ms)->acquired);
  ClusterNode b(url, nullptr);
  b.start(info("node-b"));
  EXPECT_EQ(claim(b, "cam").outcome, signal::StreamClaim::Outcome::kElsewhere);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually(
      [&] { return claim(b, "cam").outcome == signal::StreamClaim::Outcome::kOurs; }, 8s));
  EXPECT_LE(std::chrono::steady_clock::now() - start, ClusterNode::kLeaseTtl + 1s);
}

TEST(ClusterNode, RedisDownPublishesHereAndClaimsLater) {
  testing::RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << redis.why_not();
  const auto url = cluster::parse_redis_url(redis.url()).value();
  ClusterNode a(url, nullptr);
  a.start(info("node-a"));
  ASSERT_TRUE(eventually([&] { return a.redis_ok(); }));
  redis.stop();
  ASSERT_TRUE(eventually([&] { return !a.redis_ok(); }, 5s));
  // Unknown: the front end publishes here rather than refuse.
  EXPECT_EQ(claim(a, "cam").outcome, signal::StreamClaim::Outcome::kUnknown);
  a.settle("cam", true);
  redis.start();  // a Redis without the old data
  ASSERT_TRUE(redis.running());
  EXPECT_TRUE(eventually([&] { return lease_owner(url, "cam") == "node-a"; }, 6s));
}

TEST(ClusterNode, AFullNodeNamesTheLeastLoadedOne) {
  testing::RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << redis.why_not();
  const auto url = cluster::parse_redis_url(redis.url()).value();
  std::atomic<uint64_t> peers_a{5};
  ClusterNode a(url, [&](cluster::NodeInfo& n) { n.peers = peers_a.load(); });
  ClusterNode b(url, [](cluster::NodeInfo& n) { n.peers = 1; });
  a.start(info("node-a"));
  b.start(info("node-b"));
  ASSERT_TRUE(eventually([&] { return a.nodes().size() == 2; }));
  const cluster::LoadLimits limits{3, 0};
  auto better = a.better_node(limits);
  ASSERT_TRUE(better.has_value());
  EXPECT_EQ(better->id, "node-b");
  EXPECT_FALSE(b.better_node(limits).has_value());  // under its limit: publishes there
  // Its load falls: it takes publishers again (from its next announcement).
  peers_a = 2;
  EXPECT_TRUE(eventually([&] { return !a.better_node(limits).has_value(); }));
  // The placement function the WHIP front end gets.
  std::unique_ptr<ClusterNode> none;
  EXPECT_FALSE(publisher_placement(none, {}));  // no limits: no function
  EXPECT_EQ(publisher_placement(none, limits)(), "");
}

TEST(ClusterNode, ClaimsAfterStopAreAnswered) {
  testing::RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << redis.why_not();
  ClusterNode a(cluster::parse_redis_url(redis.url()).value(), nullptr);
  a.start(info("node-a"));
  a.stop();
  EXPECT_EQ(claim(a, "cam").outcome, signal::StreamClaim::Outcome::kUnknown);
}

}  // namespace
}  // namespace lss
