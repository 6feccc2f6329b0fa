#pragma once
// The rate a probe cluster got through, from the feedback of its packets:
// bytes sent over the send span against bytes received over the arrival
// span. When the path carried less than 90 % of what was sent, the receive
// rate is the capacity and the result is 95 % of it; otherwise the probe did
// not reach the capacity and the result is what was sent. A result needs
// feedback for 80 % of the cluster's packets and bytes. Up to kMaxClusters
// clusters are tracked at once in a fixed table; a cluster is forgotten one
// second after it started (libwebrtc's ProbeBitrateEstimator rules).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace lss::cc {

class ProbeBitrateEstimator {
 public:
  static constexpr size_t kMaxClusters = 8;

  // A cluster was handed out to be sent.
  void add_cluster(int id, int min_packets, size_t min_bytes, int64_t now_us);
  // An acknowledged packet of cluster `id`. Returns the cluster's measured
  // rate once enough of it has been acknowledged and the numbers make sense.
  std::optional<uint64_t> on_packet(int id, int64_t send_us, int64_t arrival_us, size_t bytes);

 private:
  struct Cluster {
    int id = -1;
    int min_packets = 0;
    size_t min_bytes = 0;
    int64_t created_us = 0;
    int64_t first_send_us = 0, last_send_us = 0, first_arrival_us = 0, last_arrival_us = 0;
    size_t last_send_size = 0, first_arrival_size = 0, total_bytes = 0;
    int packets = 0;
  };
  std::array<Cluster, kMaxClusters> clusters_{};
};

}  // namespace lss::cc
