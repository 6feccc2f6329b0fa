#pragma once
// The REST/JSON API over the catalog and the live engine:
//   GET /api/streams[?status=live|ended&limit=&offset=]  live and past streams
//   GET /api/streams/{id}                                one stream with its clips
//   GET /api/clips?stream=<name or id>&since=<ISO 8601>&limit=&offset=
// Field names are documented in README.md.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "http/router.hpp"
#include "signal/whip_whep.hpp"

namespace lss::signal {

// Runs `fn` on the control thread (catalog calls never run on media workers).
using ControlRunner = std::function<void(std::function<void()>)>;

// Cluster mode: who this node is and the other nodes' live streams (as
// their records last said), so that /api/streams on any node lists every
// live stream with its `node` and `node_url`. Called on the control thread.
struct ClusterStreams {
  struct Remote {
    sfu::StreamInfo info;
    std::string node, node_url;
  };
  // Nodes that relay a stream (one pull each, counted among its owner's
  // viewers) and the viewers they serve it to.
  struct Relayed {
    uint64_t relays = 0, viewers = 0;
  };
  struct View {
    std::string node, node_url;  // this node
    std::vector<Remote> others;
    std::map<std::string, Relayed> relayed;  // by stream name
  };
  std::function<View()> view;  // unset: one node, no node fields
};

void register_rest_api(http::Router& router, EngineRouter& engines, ControlRunner run_on_control,
                       catalog::Catalog* catalog, ClusterStreams cluster = {});

}  // namespace lss::signal
