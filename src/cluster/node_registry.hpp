#pragma once
// The cluster's members, in Redis: each node keeps a record under
// <prefix>node:<id> with a TTL it renews (announce), and its id in the set
// <prefix>nodes so the others can list it without a SCAN. A node that stops
// renewing (killed, partitioned) disappears when its record expires; the
// listing sweeps its id out of the set.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/redis_client.hpp"
#include "common/result.hpp"

namespace lss::cluster {

// A stream live on a node, as its record tells the others (a second old
// at most): what /api/streams shows of it.
struct LiveStream {
  std::string id, name;    // the publisher's session id, the stream's name
  std::string started_at;  // ISO 8601 UTC
  uint64_t viewers = 0;
  std::string video_codec, audio_codec;
  uint64_t bitrate_bps = 0;
};

// A stream another node owns that this node pulls and serves (cluster
// relay), with the viewers it has of it here: the cluster's audience of a
// stream is its owner's viewers, less one per relaying node's pull, plus
// the relaying nodes' viewers.
struct RelayedStream {
  std::string name;
  uint64_t viewers = 0;
};

struct NodeInfo {
  std::string id;   // NODE_ID
  std::string url;  // NODE_URL: where other nodes and redirected clients reach it
  std::vector<std::string> media_addresses;  // its public ip:port for media
  uint64_t peers = 0;
  uint64_t streams = 0;
  double cpu = 0;                      // share of its cores busy, 0..1
  std::vector<LiveStream> live;        // its live streams
  std::vector<RelayedStream> relayed;  // other nodes' streams it serves
};

// How much a node takes before new publishers go elsewhere (0: no limit).
struct LoadLimits {
  uint64_t max_peers = 0;
  double max_cpu = 0;  // share of its host's cores, 0..1
  bool over(const NodeInfo& n) const {
    return (max_peers && n.peers >= max_peers) || (max_cpu > 0 && n.cpu >= max_cpu);
  }
};
// The node under `limits` with the least load (CPU, then peers), other
// than `except`; nullptr when none.
const NodeInfo* least_loaded(const std::vector<NodeInfo>& nodes, const LoadLimits& limits,
                             const std::string& except);

std::string to_json_text(const NodeInfo& n);
Result<NodeInfo> node_from_json_text(const std::string& text);

class NodeRegistry {
 public:
  NodeRegistry(RedisClient& redis, std::string prefix = "lss:") : redis_(redis), prefix_(prefix) {}

  // Writes (or refreshes) this node's record for `ttl`.
  Status announce(const NodeInfo& self, std::chrono::milliseconds ttl);
  // Every node whose record has not expired, sorted by id.
  Result<std::vector<NodeInfo>> nodes();
  // Leaves at once (a clean shutdown), rather than at the TTL.
  Status withdraw(const std::string& id);

 private:
  std::string key(const std::string& id) const { return prefix_ + "node:" + id; }

  RedisClient& redis_;
  std::string prefix_;
};

}  // namespace lss::cluster
