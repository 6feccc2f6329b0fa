#pragma once
// Which layer of a video track one viewer gets, from what its path carries
// (a bandwidth estimate) and the layers arriving now with their rates:
// - the best layer that fits the estimate with headroom, starting at the top
//   before any estimate exists;
// - down at once when the followed layer clearly no longer fits, else after
//   it has not fitted for a while (estimates dip briefly);
// - up when the estimate allows, or, where the estimate cannot tell (a
//   receiver's REMB never exceeds 1.5x what it gets), by trying the next
//   layer when the estimate is saturated, with a backoff after each try that
//   failed; with a send-side estimator (probing), the try is a probe at the
//   next layer's rate instead, and the switch follows only when the probe
//   raised the estimate;
// - a single layer that does not fit at all is paused (audio keeps going)
//   and tried again later the same way.
// Sans-I/O: called with the time; no allocation.
#include <cstdint>
#include <span>
#include <utility>

#include "common/time.hpp"

namespace lss::sfu {

// An operating point a viewer may be given, as the stream receives it now:
// a spatial (simulcast) layer with its temporal layers up to some id. The
// selector treats `layer` as an opaque id (see operating_point()).
struct LayerRate {
  int layer;
  uint64_t bps;
};

// Operating point ids: spatial layer x 4 + highest temporal layer, where 3
// means all of them (the layer as sent, also for codecs without temporal
// layers). Ordered by rate, dropping a layer's upper temporal layers comes
// before going down a spatial layer whenever it saves enough.
inline constexpr int kAllTemporal = 3;
inline int operating_point(int spatial, int temporal) {
  return spatial * 4 + temporal;
}
inline int spatial_of(int point) {
  return point < 0 ? point : point / 4;
}
inline int temporal_of(int point) {
  return point < 0 ? kAllTemporal : point % 4;
}

class LayerSelector {
 public:
  static constexpr int kPaused = -1;

  struct Config {
    double headroom = 0.85;  // of the estimate, for audio, repairs and jitter
    Duration down_after = std::chrono::milliseconds(1500);
    Duration up_after = std::chrono::seconds(2);
    double saturated = 1.35;  // estimate / current rate that means "could carry more"
    Duration first_trial = std::chrono::seconds(5);
    Duration max_trial_backoff = std::chrono::seconds(60);
    Duration trial_length = std::chrono::seconds(4);
    double pause_below = 0.5;  // a lone layer at over 1/0.5 x the estimate is paused...
    Duration pause_after = std::chrono::seconds(3);  // ...once that has lasted this long
    // Probe instead of trying: the estimator can measure a higher rate
    // with padding before any viewer sees a higher layer.
    bool probing = false;
    double probe_margin = 1.25;  // probe at this times the next layer's rate
    // Probes cost a burst of ~30 ms: retried sooner than layer trials, so a
    // path that got better is found within seconds.
    Duration first_probe = std::chrono::seconds(3);
    Duration max_probe_backoff = std::chrono::seconds(8);
  };

  LayerSelector() : LayerSelector(Config{}) {}
  explicit LayerSelector(Config config) : config_(config) {}

  // `layers`: active, slowest first (Stream::active_layers). `estimate_bps`
  // 0 when unknown. Returns the layer to follow, or kPaused.
  int select(std::span<const LayerRate> layers, uint64_t estimate_bps, Timestamp now);

  int target() const { return target_; }
  bool probing() const { return config_.probing; }
  bool in_trial() const { return trial_started_ != Timestamp{}; }
  // A probe the selector wants sent (bps in total), once; 0 when none.
  uint64_t take_probe_request() { return std::exchange(probe_request_, 0); }

 private:
  int index_of(std::span<const LayerRate> layers, int layer) const;
  void probe(double layer_bps, uint64_t estimate, Timestamp now);

  Config config_;
  int target_ = kPaused;
  bool started_ = false;
  Timestamp over_since_{}, fits_better_since_{}, starved_since_{};
  Timestamp next_trial_{}, trial_started_{};
  int trial_from_ = kPaused;
  Duration backoff_{};
  uint64_t probe_request_ = 0;
  uint64_t probed_from_ = 0;  // the estimate when the last probe was asked for
};

}  // namespace lss::sfu
