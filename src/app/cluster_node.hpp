#pragma once
// Cluster mode (REDIS_URL set): this node's membership and the leases of
// the streams published on it. A thread of its own (Redis calls block, for
// at most the client's timeout) announces the node every kAnnounceInterval
// with a kNodeTtl record, lists the cluster's nodes and keeps that list for
// the control thread (GET /api/cluster), and renews the leases of the
// streams live or being published here; at stop it gives the leases back
// and withdraws at once. Claims are answered as soon as the thread is free
// (between two announcements), not at the next tick.
//
// A Redis outage is logged once, with one line when it ends; the node keeps
// serving meanwhile, and new publishers publish here without a lease (a
// cluster that cannot be asked must not stop a stream); their leases are
// taken when Redis is back.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/node_registry.hpp"
#include "cluster/redis_url.hpp"
#include "cluster/stream_lease.hpp"
#include "signal/stream_claims.hpp"

namespace lss {

class ClusterNode : public signal::StreamClaims {
 public:
  static constexpr auto kAnnounceInterval = std::chrono::seconds(1);
  // A node that stops renewing leaves the list this long after its last word.
  static constexpr auto kNodeTtl = std::chrono::seconds(5);
  // A dead node's streams are free again this long after its last renewal.
  static constexpr auto kLeaseTtl = std::chrono::seconds(5);

  using Poster = std::function<void(std::function<void()>)>;

  // `load` fills peers/streams/cpu; it runs on the cluster thread, so it
  // may only read atomics. `post` runs claims' answers on the control
  // thread (unset: on the cluster thread).
  ClusterNode(cluster::RedisUrl redis, std::function<void(cluster::NodeInfo&)> load,
              Poster post = {});
  ~ClusterNode() override;
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // `self`'s URL and media addresses are known once the ports are bound;
  // claims made before wait for it.
  void start(cluster::NodeInfo self);
  void stop();  // gives back the leases and withdraws the node (if Redis answers), joins

  // signal::StreamClaims
  void claim(const std::string& stream, Done done) override;
  void settle(const std::string& stream, bool live) override;
  void ended(const std::string& stream) override;
  void locate(const std::string& stream, Done done) override;

  const cluster::NodeInfo& self() const { return self_; }
  // The last list read from Redis (this node included once announced).
  std::vector<cluster::NodeInfo> nodes() const;
  bool redis_ok() const { return redis_ok_.load(); }
  // Placement: when this node is over `limits` (as its last announcement
  // said), the least-loaded node under them; nothing when this node may
  // take more, or no other node can.
  std::optional<cluster::NodeInfo> better_node(const cluster::LoadLimits& limits) const;
  // Says `message` on Redis channel `channel` (pub/sub), from the cluster
  // thread, soon; lost if Redis is away. Any thread.
  void publish(std::string channel, std::string message);
  // This node's live streams, and the other nodes' it relays, for its next
  // announcements (any thread).
  void set_live(std::vector<cluster::LiveStream> live,
                std::vector<cluster::RelayedStream> relayed = {});
  // Streams whose leases this node keeps (live here or being published).
  size_t leases_held() const { return leases_held_.load(); }

 private:
  // A name this node keeps the lease of: while a publish of it is pending
  // or it is live here.
  struct Lease {
    int pending = 0;
    bool live = false;
    bool contested = false;  // another node took it meanwhile: said once
  };
  using Job = std::function<void(cluster::RedisClient&, cluster::StreamLeases&)>;

  void run();
  bool enqueue(Job job);  // false once stopping
  void do_claim(cluster::StreamLeases& leases, const std::string& stream, const Done& done);
  void answer(const Done& done, const signal::StreamClaim& c);
  void release_if_unused(cluster::StreamLeases& leases, const std::string& stream);
  void renew_all(cluster::StreamLeases& leases);
  std::string url_of(const std::string& node_id) const;

  cluster::RedisUrl redis_url_;
  cluster::NodeInfo self_;  // set by start(), then read-only
  std::function<void(cluster::NodeInfo&)> load_;
  Poster post_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<Job> jobs_;  // under mu_
  std::vector<cluster::NodeInfo> nodes_;
  std::vector<cluster::LiveStream> live_;        // under mu_
  std::vector<cluster::RelayedStream> relayed_;  // under mu_
  std::map<std::string, Lease> leases_;          // the cluster thread's
  std::atomic<size_t> leases_held_{0};
  std::atomic<bool> redis_ok_{false};
};

// WHIP's placement (WhipWhepOptions::place_publisher) through `node`: the
// URL of a node to send a new publisher to while this one is over
// `limits`. Empty without a cluster or without such a node.
std::function<std::string()> publisher_placement(const std::unique_ptr<ClusterNode>& node,
                                                 cluster::LoadLimits limits);

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
