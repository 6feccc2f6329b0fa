#pragma once
// Cluster relay (CLUSTER_VIEWERS=relay): a viewer of a stream live on
// another node is served here, from one pull of the stream per node (the
// owner's WHEP), instead of being sent there.
#include <functional>
#include <string>

namespace lss::signal {

class StreamRelays {
 public:
  // An empty `error`: the stream is live here now.
  using Done = std::function<void(const std::string& error)>;
  virtual ~StreamRelays() = default;
  // Pulls `stream` from the node at `owner_url` unless a pull of it is
  // already under way, whose outcome `done` then shares. `done` runs later,
  // on the control thread. Control thread.
  virtual void pull(const std::string& stream, const std::string& owner_url, Done done) = 0;
};

}  // namespace lss::signal
