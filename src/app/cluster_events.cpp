#include "app/cluster_events.hpp"

namespace lss {

ClusterEvents::ClusterEvents(const cluster::RedisUrl& url, ClusterNode& node,
                             ClusterNode::Poster post, Deliver deliver)
    : node_(node),
      channel_(cluster::events_channel(url)),
      subscriber_(
          url, channel_,
          [&node, post = std::move(post), deliver = std::move(deliver)](cluster::ClusterEvent e) {
            if (e.node == node.self().id) return;  // told to this node's apps already
            auto data = nlohmann::json::parse(e.data, nullptr, false);
            if (data.is_discarded()) return;
            post([deliver, name = std::move(e.name), data = std::move(data)] {
              deliver(name, data);
            });
          }) {}

void ClusterEvents::start() {
  subscriber_.start();
}

void ClusterEvents::stop() {
  subscriber_.stop();
}

void ClusterEvents::publish(const std::string& event, const nlohmann::json& data) {
  node_.publish(
      channel_,
      cluster::to_message({node_.self().id, event,
                           data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}));
}

}  // namespace lss
