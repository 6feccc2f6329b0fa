#include "cc/probe_bitrate_estimator.hpp"

#include <algorithm>

namespace lss::cc {

namespace {
constexpr double kMinReceivedShare = 0.8;  // of the cluster's packets and of its bytes
constexpr double kMaxValidRatio = 2.0;     // receive rate above twice the send rate is noise
constexpr double kUnsaturatedRatio = 0.9;  // received at least this share: below capacity
constexpr double kTargetUtilization = 0.95;
constexpr int64_t kMaxSpanUs = 1'000'000;  // a cluster longer than this on either side is bogus
constexpr int64_t kHistoryUs = 1'000'000;  // forget clusters after this
}  // namespace

void ProbeBitrateEstimator::add_cluster(int id, int min_packets, size_t min_bytes, int64_t now_us) {
  // The slot of the same id, else a free one, else the oldest.
  Cluster* slot = nullptr;
  for (Cluster& c : clusters_) {
    if (c.id == id) slot = &c;
  }
  for (Cluster& c : clusters_) {
    if (!slot && c.id < 0) slot = &c;
  }
  if (!slot) {
    slot = &*std::min_element(
        clusters_.begin(), clusters_.end(),
        [](const Cluster& a, const Cluster& b) { return a.created_us < b.created_us; });
  }
  *slot = {};
  slot->id = id;
  slot->min_packets = min_packets;
  slot->min_bytes = min_bytes;
  slot->created_us = now_us;
}

std::optional<uint64_t> ProbeBitrateEstimator::on_packet(int id, int64_t send_us,
                                                         int64_t arrival_us, size_t bytes) {
  Cluster* c = nullptr;
  for (Cluster& k : clusters_) {
    if (k.id == id) c = &k;
  }
  if (!c) return std::nullopt;
  if (send_us - c->created_us > kHistoryUs) {
    c->id = -1;  // a stale id reused by a much later packet
    return std::nullopt;
  }
  if (c->packets == 0) {
    c->first_send_us = c->last_send_us = send_us;
    c->first_arrival_us = c->last_arrival_us = arrival_us;
    c->last_send_size = c->first_arrival_size = bytes;
  } else {
    if (send_us < c->first_send_us) c->first_send_us = send_us;
    if (send_us >= c->last_send_us) {
      c->last_send_us = send_us;
      c->last_send_size = bytes;
    }
    if (arrival_us < c->first_arrival_us) {
      c->first_arrival_us = arrival_us;
      c->first_arrival_size = bytes;
    }
    c->last_arrival_us = std::max(c->last_arrival_us, arrival_us);
  }
  c->total_bytes += bytes;
  ++c->packets;

  if (c->packets < int(kMinReceivedShare * c->min_packets + 0.5) ||
      double(c->total_bytes) < kMinReceivedShare * double(c->min_bytes)) {
    return std::nullopt;
  }
  const int64_t send_span = c->last_send_us - c->first_send_us;
  const int64_t arrival_span = c->last_arrival_us - c->first_arrival_us;
  if (send_span <= 0 || send_span > kMaxSpanUs || arrival_span <= 0 || arrival_span > kMaxSpanUs) {
    return std::nullopt;
  }
  // The last packet sent takes no send time within the span, the first one
  // received no receive time: leave each out of its own side.
  const double send_bps =
      8.0 * double(c->total_bytes - c->last_send_size) * 1e6 / double(send_span);
  const double recv_bps =
      8.0 * double(c->total_bytes - c->first_arrival_size) * 1e6 / double(arrival_span);
  if (send_bps <= 0 || recv_bps > kMaxValidRatio * send_bps) return std::nullopt;
  double result = std::min(send_bps, recv_bps);
  if (recv_bps < kUnsaturatedRatio * send_bps) result = kTargetUtilization * recv_bps;
  return uint64_t(result);
}

}  // namespace lss::cc
