// Cluster events over a real redis-server's pub/sub: what one node
// publishes reaches another's subscriber, junk on the channel is dropped,
// and a subscriber listens again after a Redis restart.
#include "cluster/event_channel.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "../support/eventually.hpp"
#include "redis_server.hpp"

namespace lss::cluster {
namespace {

using namespace std::chrono_literals;
bool eventually(const std::function<bool()>& cond) {
  return testing::eventually(cond, 5s);
}

struct Heard {
  std::mutex mutex;
  std::vector<ClusterEvent> events;
  size_t size() {
    std::lock_guard lock(mutex);
    return events.size();
  }
};

TEST(ClusterEvents, MessagesRoundTrip) {
  const auto text = to_message({"node-a", "stream-started", R"({"streamId":"cam"})"});
  auto e = event_from_message(text);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->node, "node-a");
  EXPECT_EQ(e->name, "stream-started");
  EXPECT_EQ(e->data, R"({"streamId":"cam"})");
  EXPECT_FALSE(event_from_message("junk").ok());
  EXPECT_FALSE(event_from_message(R"({"node":"a","event":"","data":1})").ok());
  EXPECT_FALSE(event_from_message(R"({"node":1,"event":"x","data":1})").ok());
  EXPECT_FALSE(event_from_message(R"({"node":"a","event":"x"})").ok());
}

TEST(ClusterEvents, ChannelPerDatabase) {
  RedisUrl zero, three;
  three.db = 3;
  EXPECT_NE(events_channel(zero), events_channel(three));
}

TEST(ClusterEvents, PublishedEventsReachSubscribers) {
  testing::RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << redis.why_not();
  const auto url = parse_redis_url(redis.url()).value();
  const std::string channel = events_channel(url);
  Heard heard;
  EventSubscriber sub(url, channel, [&](ClusterEvent e) {
    std::lock_guard lock(heard.mutex);
    heard.events.push_back(std::move(e));
  });
  sub.start();
  ASSERT_TRUE(eventually([&] { return sub.subscribed(); }));
  RedisClient pub(url);
  ASSERT_TRUE(pub.checked({"PUBLISH", channel, "not json"}).ok());
  ASSERT_TRUE(pub.checked({"PUBLISH", channel,
                           to_message({"node-b", "clip", R"({"streamId":"cam","index":1})"})})
                  .ok());
  ASSERT_TRUE(pub.checked({"PUBLISH", "other-channel", to_message({"node-b", "x", "1"})}).ok());
  ASSERT_TRUE(eventually([&] { return heard.size() == 1; }));
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(heard.size(), 1u);  // the junk and the other channel's are not events
  EXPECT_EQ(heard.events[0].node, "node-b");
  EXPECT_EQ(heard.events[0].name, "clip");

  // Redis restarts: the subscriber listens again without being told.
  redis.stop();
  ASSERT_TRUE(eventually([&] { return !sub.subscribed(); }));
  redis.start();
  ASSERT_TRUE(redis.running());
  ASSERT_TRUE(eventually([&] { return sub.subscribed(); }));
  RedisClient again(url);
  ASSERT_TRUE(
      again.checked({"PUBLISH", channel, to_message({"node-c", "stream-ended", "{}"})}).ok());
  EXPECT_TRUE(eventually([&] { return heard.size() == 2; }));
  const auto before = std::chrono::steady_clock::now();
  sub.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);  // stop() is prompt
}

}  // namespace
}  // namespace lss::cluster
