#pragma once
// The cluster's live streams (cluster mode): every second the control
// thread gathers this node's live streams from its media workers into its
// cluster record, and /api/streams reads the other nodes' from theirs.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "app/cluster_node.hpp"
#include "signal/engine_router.hpp"
#include "signal/rest_api.hpp"

namespace lss {

class ClusterStreamFeed {
 public:
  ClusterStreamFeed(boost::asio::io_context& control, signal::EngineRouter& engines,
                    ClusterNode& node);
  void start();
  void stop();

 private:
  void tick();

  signal::EngineRouter& engines_;
  ClusterNode& node_;
  boost::asio::steady_timer timer_;
  // Set at stop: a gathering under way finishes without feeding the node.
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
};

// /api/streams' view of the cluster through `node` (null: no cluster yet).
signal::ClusterStreams cluster_streams(const std::unique_ptr<ClusterNode>& node);

}  // namespace lss
