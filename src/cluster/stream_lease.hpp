#pragma once
// Which node a live stream belongs to: a lease in Redis, the key
// <prefix>stream:<name> holding the owner's node id, with a TTL the owner
// renews while the stream is live and deletes when it ends. SET NX makes
// the first publisher anywhere the owner; a second one elsewhere learns the
// owner (and gets 409). If the owner dies, the lease expires and the name
// is free again. Renewal and release check the owner atomically (Lua), so
// a node whose lease already expired and went to another node cannot renew
// or delete the new owner's.
#include <chrono>
#include <optional>
#include <string>

#include "cluster/redis_client.hpp"
#include "common/result.hpp"

namespace lss::cluster {

struct LeaseOutcome {
  bool acquired = false;  // this node owns the stream (newly, or already did)
  std::string owner;      // the owner's node id either way
};

class StreamLeases {
 public:
  StreamLeases(RedisClient& redis, std::string prefix = "lss:") : redis_(redis), prefix_(prefix) {}

  Result<LeaseOutcome> acquire(const std::string& stream, const std::string& node,
                               std::chrono::milliseconds ttl);
  // False when the lease is no longer this node's (expired, or taken over).
  Result<bool> renew(const std::string& stream, const std::string& node,
                     std::chrono::milliseconds ttl);
  // False when it was not this node's to release.
  Result<bool> release(const std::string& stream, const std::string& node);
  // The owner's node id; nullopt when nobody holds it.
  Result<std::optional<std::string>> owner(const std::string& stream);

 private:
  std::string key(const std::string& stream) const { return prefix_ + "stream:" + stream; }

  RedisClient& redis_;
  std::string prefix_;
};

}  // namespace lss::cluster
