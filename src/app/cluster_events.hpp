#pragma once
// The app's events across the cluster (cluster mode): an app connected to
// any node hears stream-started, clip, stream-ended and session-ended of
// every node's streams. This node's events go out on the cluster's Redis
// channel (through the cluster thread); the other nodes' come in on a
// subscriber thread and are broadcast to this node's Socket.IO apps from
// the control thread.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "app/cluster_node.hpp"
#include "cluster/event_channel.hpp"

namespace lss {

class ClusterEvents {
 public:
  using Deliver = std::function<void(const std::string& event, const nlohmann::json& data)>;

  // `deliver` runs on the control thread, through `post`.
  ClusterEvents(const cluster::RedisUrl& url, ClusterNode& node, ClusterNode::Poster post,
                Deliver deliver);
  // After the node's start() (its id tells its own events apart).
  void start();
  void stop();
  // An event of this node, for the others' apps. Any thread.
  void publish(const std::string& event, const nlohmann::json& data);
  bool listening() const { return subscriber_.subscribed(); }

 private:
  ClusterNode& node_;
  std::string channel_;
  cluster::EventSubscriber subscriber_;
};

}  // namespace lss
