#include "app/cluster_node.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "cluster/redis_client.hpp"
#include "common/socket_address.hpp"

namespace lss {

ClusterNode::ClusterNode(cluster::RedisUrl redis, std::function<void(cluster::NodeInfo&)> load,
                         Poster post)
    : redis_url_(std::move(redis)), load_(std::move(load)), post_(std::move(post)) {}

ClusterNode::~ClusterNode() {
  stop();
}

void ClusterNode::start(cluster::NodeInfo self) {
  self_ = std::move(self);
  spdlog::info("cluster: node '{}' at {} joins through {}", self_.id, self_.url,
               redis_url_.redacted());
  thread_ = std::thread([this] { run(); });
}

void ClusterNode::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<cluster::NodeInfo> ClusterNode::nodes() const {
  std::lock_guard lock(mu_);
  return nodes_;
}

void ClusterNode::publish(std::string channel, std::string message) {
  enqueue([channel = std::move(channel), message = std::move(message)](cluster::RedisClient& redis,
                                                                       cluster::StreamLeases&) {
    if (auto r = redis.checked({"PUBLISH", channel, message}); !r.ok()) {
      spdlog::debug("cluster: event not published: {}", r.error().message);
    }
  });
}

std::optional<cluster::NodeInfo> ClusterNode::better_node(const cluster::LoadLimits& limits) const {
  std::lock_guard lock(mu_);
  auto me = std::find_if(nodes_.begin(), nodes_.end(),
                         [this](const cluster::NodeInfo& n) { return n.id == self_.id; });
  if (me == nodes_.end() || !limits.over(*me)) return std::nullopt;
  if (const auto* n = cluster::least_loaded(nodes_, limits, self_.id)) return *n;
  return std::nullopt;
}

void ClusterNode::set_live(std::vector<cluster::LiveStream> live,
                           std::vector<cluster::RelayedStream> relayed) {
  std::lock_guard lock(mu_);
  live_ = std::move(live);
  relayed_ = std::move(relayed);
}

std::string ClusterNode::url_of(const std::string& node_id) const {
  std::lock_guard lock(mu_);
  for (const auto& n : nodes_) {
    if (n.id == node_id) return n.url;
  }
  return {};
}

bool ClusterNode::enqueue(Job job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;  // the thread is gone or going: nobody would run it
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
  return true;
}

void ClusterNode::answer(const Done& done, const signal::StreamClaim& c) {
  if (post_) return post_([done, c] { done(c); });
  done(c);
}

void ClusterNode::claim(const std::string& stream, Done done) {
  const bool queued =
      enqueue([this, stream, done](cluster::RedisClient&, cluster::StreamLeases& leases) {
        do_claim(leases, stream, done);
      });
  if (!queued) answer(done, {});  // stopping (draining): at once rather than never
}

void ClusterNode::locate(const std::string& stream, Done done) {
  const bool queued =
      enqueue([this, stream, done](cluster::RedisClient&, cluster::StreamLeases& leases) {
        signal::StreamClaim c;
        if (auto owner = leases.owner(stream); owner.ok() && owner->has_value()) {
          c.owner = **owner;
          c.outcome = c.owner == self_.id ? signal::StreamClaim::Outcome::kOurs
                                          : signal::StreamClaim::Outcome::kElsewhere;
          c.owner_url = url_of(c.owner);
        }
        answer(done, c);
      });
  if (!queued) answer(done, {});
}

void ClusterNode::settle(const std::string& stream, bool live) {
  enqueue([this, stream, live](cluster::RedisClient&, cluster::StreamLeases& leases) {
    auto it = leases_.find(stream);
    if (it == leases_.end()) return;
    if (it->second.pending > 0) --it->second.pending;
    if (live) it->second.live = true;
    release_if_unused(leases, stream);
  });
}

void ClusterNode::ended(const std::string& stream) {
  enqueue([this, stream](cluster::RedisClient&, cluster::StreamLeases& leases) {
    auto it = leases_.find(stream);
    if (it == leases_.end()) return;
    it->second.live = false;
    release_if_unused(leases, stream);
  });
}

void ClusterNode::do_claim(cluster::StreamLeases& leases, const std::string& stream,
                           const Done& done) {
  signal::StreamClaim c;
  auto r = leases.acquire(stream, self_.id,
                          std::chrono::duration_cast<std::chrono::milliseconds>(kLeaseTtl));
  if (!r.ok()) {
    // Publish here all the same; the renewal takes the lease once Redis is back.
    spdlog::warn("cluster: stream '{}' published without a lease: {}", stream, r.error().message);
    c.outcome = signal::StreamClaim::Outcome::kUnknown;
  } else if (r->acquired) {
    c.outcome = signal::StreamClaim::Outcome::kOurs;
  } else {
    c.outcome = signal::StreamClaim::Outcome::kElsewhere;
    c.owner = r->owner;
    c.owner_url = url_of(r->owner);
  }
  if (c.outcome != signal::StreamClaim::Outcome::kElsewhere) {
    ++leases_[stream].pending;
    leases_held_.store(leases_.size());
  }
  answer(done, c);
}

void ClusterNode::release_if_unused(cluster::StreamLeases& leases, const std::string& stream) {
  auto it = leases_.find(stream);
  if (it == leases_.end() || it->second.live || it->second.pending > 0) return;
  leases_.erase(it);
  leases_held_.store(leases_.size());
  // Not reaching Redis here only delays the name's freedom to the lease's TTL.
  if (auto r = leases.release(stream, self_.id); !r.ok()) {
    spdlog::debug("cluster: lease of '{}' not released: {}", stream, r.error().message);
  }
}

void ClusterNode::renew_all(cluster::StreamLeases& leases) {
  const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(kLeaseTtl);
  for (auto& [stream, lease] : leases_) {
    auto renewed = leases.renew(stream, self_.id, ttl);
    if (!renewed.ok()) return;  // Redis is away: the announcement said so already
    if (*renewed) continue;
    // Gone (Redis restarted, or its TTL passed during an outage): take it
    // again. Someone else having it means two publishers of one name.
    auto again = leases.acquire(stream, self_.id, ttl);
    if (!again.ok()) return;
    if (again->acquired) {
      if (lease.contested) spdlog::info("cluster: stream '{}' is this node's again", stream);
      lease.contested = false;
    } else if (!lease.contested) {
      lease.contested = true;
      spdlog::warn(
          "cluster: stream '{}' is published here and on node '{}' (its lease went there while "
          "Redis was away); the other node's viewers see that one",
          stream, again->owner);
    }
  }
}

void ClusterNode::run() {
  cluster::RedisClient redis(redis_url_, std::chrono::seconds(1));
  cluster::NodeRegistry registry(redis);
  cluster::StreamLeases leases(redis);
  bool ever_ok = false, warned = false;
  auto next_announce = std::chrono::steady_clock::now();
  for (;;) {
    if (std::chrono::steady_clock::now() >= next_announce) {
      next_announce = std::chrono::steady_clock::now() + kAnnounceInterval;
      cluster::NodeInfo me = self_;
      if (load_) load_(me);
      {
        std::lock_guard lock(mu_);
        me.live = live_;
        me.relayed = relayed_;
      }
      auto st =
          registry.announce(me, std::chrono::duration_cast<std::chrono::milliseconds>(kNodeTtl));
      std::string error = st.ok() ? "" : st.message();
      if (st.ok()) {
        if (auto list = registry.nodes(); list.ok()) {
          std::lock_guard lock(mu_);
          nodes_ = std::move(list.value());
        } else {
          error = list.error().message;
        }
      }
      // One line when Redis goes away, one when it is back: not one a second.
      if (error.empty()) {
        if (!redis_ok_.exchange(true)) {
          spdlog::info("cluster: node '{}' {} ({} nodes)", self_.id,
                       ever_ok ? "reaches redis again" : "registered", nodes().size());
        }
        ever_ok = true;
        renew_all(leases);
      } else if (redis_ok_.exchange(false) || !warned) {
        spdlog::warn("cluster: {} (retrying every {} s)", error,
                     std::chrono::seconds(kAnnounceInterval).count());
        warned = true;
      }
    }
    std::deque<Job> jobs;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_announce, [this] { return stopping_ || !jobs_.empty(); });
      jobs.swap(jobs_);
      if (stopping_ && jobs.empty()) break;
    }
    for (auto& job : jobs) job(redis, leases);
  }
  // A clean stop frees this node's names and leaves at once, not at the TTLs.
  for (const auto& [stream, lease] : leases_) (void)leases.release(stream, self_.id);
  leases_.clear();
  leases_held_.store(0);
  if (auto st = registry.withdraw(self_.id); st.ok()) {
    spdlog::info("cluster: node '{}' left the cluster", self_.id);
  }
}

std::function<std::string()> publisher_placement(const std::unique_ptr<ClusterNode>& node,
                                                 cluster::LoadLimits limits) {
  if (!limits.max_peers && limits.max_cpu <= 0) return {};
  return [&node, limits]() -> std::string {
    if (!node) return {};
    auto better = node->better_node(limits);
    return better ? better->url : std::string();
  };
}

std::string default_node_id(uint16_t port) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !host[0])
    std::snprintf(host, sizeof host, "node");
  return std::string(host) + "-" + std::to_string(port);
}

std::string default_node_url(const std::vector<std::string>& public_ips, uint16_t port, bool tls) {
  return std::string(tls ? "https://" : "http://") +
         host_port(public_ips.empty() ? "127.0.0.1" : public_ips.front(), port);
}

double CpuMeter::sample() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const double cpu_s = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  const auto now = std::chrono::steady_clock::now();
  double share = 0;
  if (last_cpu_s_ >= 0) {
    const double wall = std::chrono::duration<double>(now - last_at_).count();
    const double cores = double(std::max(1u, std::thread::hardware_concurrency()));
    if (wall > 0) share = std::clamp((cpu_s - last_cpu_s_) / wall / cores, 0.0, 1.0);
  }
  last_cpu_s_ = cpu_s;
  last_at_ = now;
  return share;
}

}  // namespace lss
