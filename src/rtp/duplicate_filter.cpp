#include "rtp/duplicate_filter.hpp"

namespace lss {

bool DuplicateFilter::first_time(uint16_t seq) {
  if (!started_) {
    started_ = true;
    highest_ = seq;
    seen_.set(seq % kWindow);
    return true;
  }
  const int16_t ahead = int16_t(uint16_t(seq - highest_));
  if (ahead > 0) {
    // Clear the slots the window moves over: their old occupants fall out.
    if (ahead >= kWindow) {
      seen_.reset();
    } else {
      for (int i = 1; i <= ahead; ++i) seen_.reset(uint16_t(highest_ + i) % kWindow);
    }
    highest_ = seq;
    seen_.set(seq % kWindow);
    return true;
  }
  if (-ahead >= kWindow) return false;  // older than the window
  if (seen_.test(seq % kWindow)) return false;
  seen_.set(seq % kWindow);
  return true;
}

}  // namespace lss
