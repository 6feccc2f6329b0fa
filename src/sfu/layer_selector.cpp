#include "sfu/layer_selector.hpp"

#include <algorithm>

namespace lss::sfu {

int LayerSelector::index_of(std::span<const LayerRate> layers, int layer) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].layer == layer) return int(i);
  return -1;
}

void LayerSelector::probe(double layer_bps, uint64_t estimate, Timestamp now) {
  // A probe that did not raise the estimate past what the last one started
  // from failed: wait longer before the next.
  if (probed_from_ && estimate <= probed_from_ * 11 / 10) {
    backoff_ = std::min(std::max(backoff_, config_.first_probe) * 2, config_.max_probe_backoff);
  } else {
    backoff_ = config_.first_probe;
  }
  probed_from_ = estimate;
  probe_request_ = uint64_t(layer_bps * config_.probe_margin / config_.headroom);
  next_trial_ = now + backoff_;
}

int LayerSelector::select(std::span<const LayerRate> layers, uint64_t estimate, Timestamp now) {
  if (layers.empty()) return target_;
  if (backoff_ == Duration{})
    backoff_ = config_.probing ? config_.first_probe : config_.first_trial;
  const int top = int(layers.size()) - 1;
  if (!started_ || estimate == 0) {
    // Nothing known of the path yet: the best there is.
    started_ = true;
    if (estimate == 0) return target_ = layers[size_t(top)].layer;
  }
  const double budget = double(estimate) * config_.headroom;
  // The best layer that fits; -1 when even the slowest does not.
  int fit = -1;
  for (int i = top; i >= 0; --i) {
    if (double(layers[size_t(i)].bps) <= budget) {
      fit = i;
      break;
    }
  }
  const int at = index_of(layers, target_);
  if (at < 0 && target_ != kPaused) {
    // Its layer stopped (the publisher dropped it): the best that fits.
    trial_started_ = over_since_ = fits_better_since_ = Timestamp{};
    return target_ = layers[size_t(std::max(fit, 0))].layer;
  }

  // A trial of a higher layer succeeds when the estimate follows it up.
  if (in_trial()) {
    const int from = index_of(layers, trial_from_);
    if (at >= 0 && double(layers[size_t(at)].bps) <= budget) {
      trial_started_ = Timestamp{};  // it fits: keep it
      backoff_ = config_.first_trial;
    } else if (now - trial_started_ >= config_.trial_length) {
      trial_started_ = Timestamp{};
      backoff_ = std::min(backoff_ * 2, config_.max_trial_backoff);
      next_trial_ = now + backoff_;
      over_since_ = fits_better_since_ = Timestamp{};
      return target_ = from >= 0 ? layers[size_t(from)].layer : kPaused;
    } else {
      return target_;
    }
  }

  if (target_ == kPaused) {
    if (fit >= 0) return target_ = layers[size_t(fit)].layer;
    // Paused: try the slowest layer again now and then.
    if (now >= next_trial_ && config_.probing) {
      probe(double(layers[0].bps), estimate, now);
      return target_;
    }
    if (now >= next_trial_) {
      trial_from_ = kPaused;
      trial_started_ = now;
      return target_ = layers[0].layer;
    }
    return target_;
  }

  const double rate = double(layers[size_t(at)].bps);
  if (fit < at) {
    if (over_since_ == Timestamp{}) over_since_ = now;
    if (at == 0) {
      // Already on the slowest layer: paused only when the estimate has
      // stayed far below it for a while (the estimate of a new viewer, or
      // one on a lossy but uncongested path, can dip; pausing costs the
      // viewer its picture until a probe finds room).
      if (double(layers[0].bps) * config_.pause_below > double(estimate)) {
        if (starved_since_ == Timestamp{}) starved_since_ = now;
        if (now - starved_since_ >= config_.pause_after) {
          over_since_ = starved_since_ = Timestamp{};
          next_trial_ = std::max(next_trial_, now + backoff_);
          return target_ = kPaused;
        }
      } else {
        starved_since_ = Timestamp{};
      }
      return target_;
    }
    // Does not fit: down at once when far off, else once it has lasted.
    const bool far = rate > budget * 1.5;
    if (far || now - over_since_ >= config_.down_after) {
      over_since_ = Timestamp{};
      next_trial_ = std::max(next_trial_, now + backoff_);
      return target_ = layers[size_t(std::max(fit, 0))].layer;
    }
    return target_;
  }
  starved_since_ = Timestamp{};
  over_since_ = Timestamp{};
  if (fit > at) {
    if (fits_better_since_ == Timestamp{}) fits_better_since_ = now;
    if (now - fits_better_since_ >= config_.up_after) {
      fits_better_since_ = Timestamp{};
      return target_ = layers[size_t(fit)].layer;
    }
    return target_;
  }
  fits_better_since_ = Timestamp{};
  // The estimate cannot tell whether more fits: it saturates near what is
  // sent. Try the next layer up now and then.
  if (at < top && config_.probing && now >= next_trial_) {
    probe(double(layers[size_t(at + 1)].bps), estimate, now);
    return target_;
  }
  if (at < top && double(estimate) >= rate * config_.saturated && now >= next_trial_) {
    trial_from_ = layers[size_t(at)].layer;
    trial_started_ = now;
    return target_ = layers[size_t(at + 1)].layer;
  }
  return target_;
}

}  // namespace lss::sfu
