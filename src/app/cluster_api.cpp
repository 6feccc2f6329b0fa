#include "app/cluster_api.hpp"

#include <nlohmann/json.hpp>

namespace lss {

void register_cluster_api(http::Router& router, const std::unique_ptr<ClusterNode>& node) {
  router.add("/api/cluster", [&node](const http::Request& req, const http::RequestContext&,
                                     http::Responder respond) {
    if (req.method() != http::Verb::get) {
      auto res = http::make_response(req, http::Status::method_not_allowed, "use GET\n");
      res.set(boost::beast::http::field::allow, "GET");
      return respond(std::move(res));
    }
    if (!node) {
      return respond(http::make_response(req, http::Status::not_found,
                                         "cluster mode is off: set REDIS_URL on every node\n"));
    }
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& n : node->nodes()) {
      nodes.push_back({{"id", n.id},
                       {"url", n.url},
                       {"media", n.media_addresses},
                       {"peers", n.peers},
                       {"streams", n.streams},
                       {"cpu", n.cpu},
                       {"self", n.id == node->self().id}});
    }
    const nlohmann::json body{
        {"self", node->self().id}, {"redis_reachable", node->redis_ok()}, {"nodes", nodes}};
    respond(http::make_response(req, http::Status::ok, body.dump(2) + "\n", "application/json"));
  });
}

}  // namespace lss
