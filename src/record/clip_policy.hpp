#pragma once
// When to start the next clip: once the current one passes CLIP_SIZE bytes or
// CLIP_LENGTH seconds (whichever first; 0 disables a limit), at the next frame
// a clip can start with (a video keyframe, or any frame without video). Until
// then it asks for a keyframe, so the cut comes promptly.
#include <cstdint>

namespace lss::record {

struct ClipLimits {
  uint64_t max_bytes = 0;       // 0: no size limit
  int64_t max_duration_ms = 0;  // 0: no length limit
};

class ClipPolicy {
 public:
  explicit ClipPolicy(ClipLimits limits) : limits_(limits) {}

  // Called for each frame before it is written; true means "close the current
  // clip and start the next one with this frame".
  bool should_cut(uint64_t clip_bytes, int64_t clip_duration_ms, bool frame_can_start_clip) {
    const bool over = (limits_.max_bytes && clip_bytes >= limits_.max_bytes) ||
                      (limits_.max_duration_ms && clip_duration_ms >= limits_.max_duration_ms);
    if (!over) return false;
    if (frame_can_start_clip) {
      keyframe_wanted_ = false;
      return true;
    }
    keyframe_wanted_ = true;
    return false;
  }

  // True while a keyframe is needed to make the cut.
  bool keyframe_wanted() const { return keyframe_wanted_; }
  const ClipLimits& limits() const { return limits_; }

 private:
  ClipLimits limits_;
  bool keyframe_wanted_ = false;
};

}  // namespace lss::record
