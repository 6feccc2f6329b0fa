#pragma once
// GCC's loss-based controller (draft-ietf-rmcat-gcc-02 §6, with libwebrtc's
// timing): above 10 % loss the rate is cut by half the loss fraction, at
// most once per RTT + 300 ms; between 2 % and 10 % it holds; under 2 % it
// grows by 8 % a second.
//
// Alone (a viewer with neither transport-cc nor REMB) this is the estimate.
// Beside a delay-based estimate or a REMB (the reference, follow()) it is a
// ceiling that only limits after heavy loss: until loss first exceeds 10 % it
// tracks the reference; after a cut it holds while loss stays in 2-10 % and
// grows back at 8 %/s once loss falls under 2 %, and stops limiting when it
// has caught up with the reference. So random loss under 10 % (Wi-Fi) never
// freezes the delay-based estimate, where libwebrtc's hold band would.
//
// Loss is taken for congestion only when something corroborates it. Where a
// delay-based estimator watches the path and has seen no queue building
// (`delay_clear`), loss up to 15 % is taken for the path's own (a lossy
// radio link, a bad cable) and the estimate grows back as with no loss:
// cutting or holding for it would only starve the viewer, since loss that
// does not come from our rate does not fall when the rate does. A queue
// that overflows shows delay first. A policer without a queue shows only
// loss: the rate settles at most ~15 % above its limit.
// Allocation-free.
#include <cstdint>
#include <optional>

#include "common/time.hpp"

namespace lss::cc {

class LossBasedControl {
 public:
  LossBasedControl(uint64_t start_bps, uint64_t min_bps, uint64_t max_bps);

  // One loss measurement: the fraction (0..1) of packets lost over the last
  // report interval. `current_bps` is the target in force, the base of a cut.
  // `delay_clear`: a delay-based estimator watches the path and saw no
  // overuse lately, so loss up to 15 % is not ours to cut or hold for.
  void on_loss(double fraction, Timestamp now, Duration rtt, uint64_t current_bps,
               bool delay_clear = false);
  // Another estimator showed the path carries `bps` (a probe, a REMB):
  // follow it up unless loss is currently high.
  void raise_to(uint64_t bps);
  // The delay-based estimate or REMB, whenever it changes: tracked while not
  // limiting.
  void follow(uint64_t reference_bps);

  uint64_t estimate() const { return estimate_bps_; }
  // Since a heavy-loss cut, until caught up with the reference again.
  bool limiting() const { return limiting_; }
  double last_loss() const { return last_loss_; }

 private:
  uint64_t clamp(double bps) const;

  uint64_t min_bps_, max_bps_;
  uint64_t estimate_bps_;
  bool limiting_ = false;
  double last_loss_ = 0;
  double high_loss_ = 0.10;  // above it, the last report's loss cuts
  std::optional<Timestamp> last_report_, last_decrease_;
};

}  // namespace lss::cc
