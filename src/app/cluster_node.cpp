#include "app/cluster_node.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "cluster/redis_client.hpp"
#include "common/socket_address.hpp"

namespace lss {

ClusterNode::ClusterNode(cluster::RedisUrl redis, cluster::NodeInfo self,
                         std::function<void(cluster::NodeInfo&)> load)
    : redis_url_(std::move(redis)), self_(std::move(self)), load_(std::move(load)) {}

ClusterNode::~ClusterNode() {
  stop();
}

void ClusterNode::start() {
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

void ClusterNode::run() {
  cluster::RedisClient redis(redis_url_, std::chrono::seconds(1));
  cluster::NodeRegistry registry(redis);
  bool ever_ok = false, warned = false;
  for (;;) {
    cluster::NodeInfo me = self_;
    if (load_) load_(me);
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
    } else if (redis_ok_.exchange(false) || !warned) {
      spdlog::warn("cluster: {} (retrying every {} s)", error,
                   std::chrono::seconds(kAnnounceInterval).count());
      warned = true;
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, kAnnounceInterval, [this] { return stopping_; })) break;
  }
  // A clean stop leaves at once, not at the record's TTL.
  if (auto st = registry.withdraw(self_.id); st.ok()) {
    spdlog::info("cluster: node '{}' left the cluster", self_.id);
  }
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
