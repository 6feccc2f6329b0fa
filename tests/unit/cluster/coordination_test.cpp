// Node records and stream leases against a real redis-server: what three
// nodes of a cluster see of each other.
#include <gtest/gtest.h>

#include <thread>

#include "cluster/node_registry.hpp"
#include "cluster/stream_lease.hpp"
#include "redis_server.hpp"

namespace lss::cluster {
namespace {

using namespace std::chrono_literals;

class Coordination : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_.running()) GTEST_SKIP() << server_.why_not();
  }
  RedisUrl url() const { return parse_redis_url(server_.url()).value(); }
  testing::RedisServer server_;
};

NodeInfo node(const std::string& id, uint64_t peers = 0) {
  NodeInfo n;
  n.id = id;
  n.url = "http://127.0.0.1:80" + id.substr(id.size() - 2);
  n.media_addresses = {"127.0.0.1:400" + id.substr(id.size() - 2)};
  n.peers = peers;
  n.streams = 1;
  n.cpu = 0.25;
  return n;
}

TEST_F(Coordination, NodesSeeEachOtherAndAnExpiredNodeLeaves) {
  RedisClient a(url()), b(url()), c(url());
  NodeRegistry ra(a), rb(b), rc(c);
  ASSERT_TRUE(ra.announce(node("node-01", 7), 10s).ok());
  ASSERT_TRUE(rb.announce(node("node-02"), 10s).ok());
  ASSERT_TRUE(rc.announce(node("node-03"), 300ms).ok());  // stops renewing: killed
  auto all = rb.nodes();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "node-01");
  EXPECT_EQ((*all)[0].peers, 7u);
  EXPECT_EQ((*all)[0].url, "http://127.0.0.1:8001");
  EXPECT_EQ((*all)[0].media_addresses, std::vector<std::string>{"127.0.0.1:40001"});
  EXPECT_DOUBLE_EQ((*all)[0].cpu, 0.25);
  std::this_thread::sleep_for(500ms);
  all = ra.nodes();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].id, "node-02");
  // The listing swept the expired id out of the set.
  EXPECT_EQ(a.command({"SCARD", "lss:nodes"})->integer, 2);
  // A clean shutdown leaves at once.
  ASSERT_TRUE(rb.withdraw("node-02").ok());
  all = ra.nodes();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].id, "node-01");
}

TEST_F(Coordination, ARecordWrittenByAnythingElseIsSkippedNotTrusted) {
  RedisClient a(url());
  NodeRegistry r(a);
  ASSERT_TRUE(r.announce(node("node-01"), 10s).ok());
  ASSERT_TRUE(a.checked({"SET", "lss:node:junk", "{\"id\": 5}"}).ok());
  ASSERT_TRUE(a.checked({"SADD", "lss:nodes", "junk"}).ok());
  auto all = r.nodes();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_FALSE(node_from_json_text("not json").ok());
  auto odd = node_from_json_text(R"({"id":"n","peers":"many","media":[1,"a:1"],"cpu":"x"})");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->peers, 0u);
  EXPECT_EQ(odd->media_addresses, std::vector<std::string>{"a:1"});
  // Live streams with bad fields keep what is sound; one without a name goes.
  auto streams = node_from_json_text(
      R"({"id":"n","live":[{"name":"cam","id":"ab","viewers":"x"},{"id":"cd"},7]})");
  ASSERT_TRUE(streams.ok());
  ASSERT_EQ(streams->live.size(), 1u);
  EXPECT_EQ(streams->live[0].name, "cam");
  EXPECT_EQ(streams->live[0].viewers, 0u);
  // Relayed streams likewise.
  auto relayed = node_from_json_text(
      R"({"id":"n","relayed":[{"name":"cam","viewers":12},{"viewers":3},{"name":"b","viewers":-1}]})");
  ASSERT_TRUE(relayed.ok());
  ASSERT_EQ(relayed->relayed.size(), 2u);
  EXPECT_EQ(relayed->relayed[0].name, "cam");
  EXPECT_EQ(relayed->relayed[0].viewers, 12u);
  EXPECT_EQ(relayed->relayed[1].viewers, 0u);
}

TEST(NodeRecord, RelayedStreamsGoThereAndBack) {
  NodeInfo n;
  n.id = "edge";
  n.relayed = {{"cam", 40}, {"other", 0}};
  auto back = node_from_json_text(to_json_text(n));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->relayed.size(), 2u);
  EXPECT_EQ(back->relayed[0].name, "cam");
  EXPECT_EQ(back->relayed[0].viewers, 40u);
  EXPECT_EQ(back->relayed[1].name, "other");
}

TEST(Placement, LeastLoadedUnderTheLimits) {
  auto n = [](std::string id, uint64_t peers, double cpu) {
    NodeInfo x;
    x.id = id;
    x.url = "http://" + id;
    x.peers = peers;
    x.cpu = cpu;
    return x;
  };
  const std::vector<NodeInfo> nodes{n("a", 10, 0.5), n("b", 3, 0.2), n("c", 1, 0.2),
                                    n("d", 0, 0.95)};
  LoadLimits limits{8, 0.9};
  EXPECT_TRUE(limits.over(nodes[0]));  // peers
  EXPECT_TRUE(limits.over(nodes[3]));  // cpu
  EXPECT_FALSE(limits.over(nodes[1]));
  EXPECT_EQ(least_loaded(nodes, limits, "a")->id, "c");                 // equal CPU: fewer peers
  EXPECT_EQ(least_loaded(nodes, limits, "c")->id, "b");                 // never itself
  EXPECT_EQ(least_loaded({nodes[0], nodes[3]}, limits, "a"), nullptr);  // nobody can
  EXPECT_FALSE(LoadLimits{}.over(nodes[3]));                            // 0: no limit
}

TEST_F(Coordination, LiveStreamsTravelInTheRecord) {
  RedisClient a(url());
  NodeRegistry r(a);
  NodeInfo n = node("node-01");
  n.live.push_back({"00ab", "cam", "2026-12-03T10:00:00Z", 12, "H264", "opus", 2500000});
  ASSERT_TRUE(r.announce(n, 10s).ok());
  auto all = r.nodes();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  ASSERT_EQ((*all)[0].live.size(), 1u);
  const auto& s = (*all)[0].live[0];
  EXPECT_EQ(s.id, "00ab");
  EXPECT_EQ(s.name, "cam");
  EXPECT_EQ(s.started_at, "2026-12-03T10:00:00Z");
  EXPECT_EQ(s.viewers, 12u);
  EXPECT_EQ(s.video_codec, "H264");
  EXPECT_EQ(s.audio_codec, "opus");
  EXPECT_EQ(s.bitrate_bps, 2500000u);
}

TEST_F(Coordination, AStreamHasOneOwnerAcrossNodes) {
  RedisClient a(url()), b(url());
  StreamLeases la(a), lb(b);
  auto first = la.acquire("cam", "node-01", 10s);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->acquired);
  // A second publisher of the name on another node learns the owner (409 there).
  auto second = lb.acquire("cam", "node-02", 10s);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->acquired);
  EXPECT_EQ(second->owner, "node-01");
  // The owner's retry is no conflict.
  EXPECT_TRUE(la.acquire("cam", "node-01", 10s)->acquired);
  // Only the owner renews or releases.
  EXPECT_TRUE(*la.renew("cam", "node-01", 10s));
  EXPECT_FALSE(*lb.renew("cam", "node-02", 10s));
  EXPECT_FALSE(*lb.release("cam", "node-02"));
  EXPECT_EQ(**lb.owner("cam"), "node-01");
  EXPECT_TRUE(*la.release("cam", "node-01"));
  EXPECT_FALSE(lb.owner("cam")->has_value());
  auto now_b = lb.acquire("cam", "node-02", 10s);
  EXPECT_TRUE(now_b->acquired);
  // Other names are independent.
  EXPECT_TRUE(la.acquire("other", "node-01", 10s)->acquired);
}

TEST_F(Coordination, ADeadOwnersLeaseExpiresAndCannotBeRenewedAfterATakeOver) {
  RedisClient a(url()), b(url());
  StreamLeases la(a), lb(b);
  ASSERT_TRUE(la.acquire("cam", "node-01", 300ms)->acquired);
  EXPECT_FALSE(lb.acquire("cam", "node-02", 10s)->acquired);
  std::this_thread::sleep_for(500ms);  // node-01 stopped renewing
  auto taken = lb.acquire("cam", "node-02", 10s);
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(taken->acquired);
  // node-01 comes back from a pause: its lease is gone, and stays node-02's.
  EXPECT_FALSE(*la.renew("cam", "node-01", 10s));
  EXPECT_FALSE(*la.release("cam", "node-01"));
  EXPECT_EQ(**la.owner("cam"), "node-02");
}

TEST_F(Coordination, ARedisOutageIsAnErrorAndTheLeaseWorksAfterIt) {
  RedisClient a(url(), 300ms);
  StreamLeases la(a);
  ASSERT_TRUE(la.acquire("cam", "node-01", 10s)->acquired);
  server_.stop();
  EXPECT_FALSE(la.renew("cam", "node-01", 10s).ok());
  EXPECT_FALSE(la.acquire("x", "node-01", 10s).ok());
  server_.start();  // without persistence: a fresh Redis, every lease gone
  ASSERT_TRUE(server_.running());
  auto again = la.acquire("cam", "node-01", 10s);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->acquired);
}

}  // namespace
}  // namespace lss::cluster
