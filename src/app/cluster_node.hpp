#pragma once
// Cluster mode (REDIS_URL set): this node's membership. A thread of its own
// (Redis calls block, for at most the client's timeout) announces the node
// every kAnnounceInterval with a kNodeTtl record, lists the cluster's nodes
// and keeps that list for the control thread (GET /api/cluster); at stop
// the node withdraws at once. A Redis outage is logged once, with one line
// when it ends; the node keeps serving meanwhile.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/node_registry.hpp"
#include "cluster/redis_url.hpp"

namespace lss {

class ClusterNode {
 public:
  static constexpr auto kAnnounceInterval = std::chrono::seconds(1);
  // A node that stops renewing leaves the list this long after its last word.
  static constexpr auto kNodeTtl = std::chrono::seconds(5);

  // `load` fills peers/streams/cpu; it runs on the cluster thread, so it
  // may only read atomics.
  ClusterNode(cluster::RedisUrl redis, cluster::NodeInfo self,
              std::function<void(cluster::NodeInfo&)> load);
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  void start();
  void stop();  // withdraws the node (if Redis answers) and joins

  const cluster::NodeInfo& self() const { return self_; }
  // The last list read from Redis (this node included once announced).
  std::vector<cluster::NodeInfo> nodes() const;
  bool redis_ok() const { return redis_ok_.load(); }

 private:
  void run();

  cluster::RedisUrl redis_url_;
  cluster::NodeInfo self_;
  std::function<void(cluster::NodeInfo&)> load_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<cluster::NodeInfo> nodes_;
  std::atomic<bool> redis_ok_{false};
};

// NODE_ID's default: the host's name and the HTTP port, unique per process
// on one host as long as the ports differ.
std::string default_node_id(uint16_t port);
// NODE_URL's default: http(s)://<first public address>:<port>.
std::string default_node_url(const std::vector<std::string>& public_ips, uint16_t port, bool tls);

// The share of this host's cores the process used since the last call (0..1).
class CpuMeter {
 public:
  double sample();

 private:
  double last_cpu_s_ = -1;
  std::chrono::steady_clock::time_point last_at_{};
};

}  // namespace lss
