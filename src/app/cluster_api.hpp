#pragma once
// GET /api/cluster: this node's id and every node of the cluster as Redis
// last listed them (id, url, media addresses, peers, streams, cpu). 404
// when cluster mode is off (no REDIS_URL).
#include <memory>

#include "app/cluster_node.hpp"
#include "http/router.hpp"

namespace lss {

// `node` may still be null when the route is added (cluster mode off).
void register_cluster_api(http::Router& router, const std::unique_ptr<ClusterNode>& node);

}  // namespace lss
