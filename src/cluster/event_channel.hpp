#pragma once
// Cluster-wide events over Redis pub/sub: what an app connected to any node
// must hear (stream-started, clip, stream-ended, session-ended), whichever
// node the stream is on. Publishing is one PUBLISH on a connection the
// caller already has; listening needs a connection of its own in subscribe
// mode, read here on a thread of its own. Pub/sub keeps nothing: a node
// cut off from Redis misses what was said meanwhile (its app learns the
// state from /api/streams).
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/redis_client.hpp"
#include "cluster/redis_url.hpp"

namespace lss::cluster {

// The channel of a cluster: per Redis database, since pub/sub channels are
// shared by all of a server's databases while keys are not.
std::string events_channel(const RedisUrl& url, const std::string& prefix = "lss:");

// One event as it travels: who said it, its name, its JSON data.
struct ClusterEvent {
  std::string node, name;
  std::string data;  // JSON text
};
std::string to_message(const ClusterEvent& e);
Result<ClusterEvent> event_from_message(const std::string& text);

class EventSubscriber {
 public:
  // `on_event` runs on the subscriber's thread, for every event published
  // on `channel` (this node's own included: the caller filters).
  EventSubscriber(RedisUrl url, std::string channel, std::function<void(ClusterEvent)> on_event);
  ~EventSubscriber();
  EventSubscriber(const EventSubscriber&) = delete;
  EventSubscriber& operator=(const EventSubscriber&) = delete;

  void start();
  void stop();
  // Listening now (subscribed, connection up).
  bool subscribed() const { return subscribed_.load(); }

 private:
  void run();

  RedisUrl url_;
  std::string channel_;
  std::function<void(ClusterEvent)> on_event_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> subscribed_{false};
};

}  // namespace lss::cluster
