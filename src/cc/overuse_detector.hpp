#pragma once
// GCC's over-use detector (draft-ietf-rmcat-gcc-02 §5.4-5.5, with libwebrtc's
// trendline scaling): compares the delay trend, scaled by how many samples it
// rests on, with an adaptive threshold. Over-use is signalled only when the
// trend stays above the threshold for more than 10 ms and keeps rising, so a
// single delayed burst does not cut the rate. The threshold follows the
// trend (fast down, slower up) so that competing with loss-based TCP flows
// does not starve us, within [6, 600].
#include <cstdint>

#include "cc/bwe_types.hpp"

namespace lss::cc {

class OveruseDetector {
 public:
  // One trend sample; `send_delta_ms` is the send spacing of the groups it
  // came from and `now_us` their arrival time (receiver clock).
  BandwidthUsage detect(double trend, double send_delta_ms, int num_deltas, int64_t now_us);

  BandwidthUsage state() const { return state_; }
  double threshold() const { return threshold_; }
  double modified_trend() const { return modified_trend_; }

 private:
  void adapt_threshold(double modified_trend, int64_t now_us);

  BandwidthUsage state_ = BandwidthUsage::kNormal;
  double threshold_ = 12.5;
  double modified_trend_ = 0;
  double prev_trend_ = 0;
  double time_over_ms_ = -1;
  int overuse_count_ = 0;
  int64_t last_adapt_us_ = -1;
};

}  // namespace lss::cc
