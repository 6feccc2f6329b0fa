#pragma once
// A second consumer of the frames a StreamRecorder depacketizes (live
// HLS): it sees every frame of every track with the recorder's timeline,
// on the recording thread, whether or not clips are written. Defined here
// so the recorder does not depend on what consumes the frames.
#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"

namespace lss::record {

class FrameTap {
 public:
  virtual ~FrameTap() = default;
  // A frame of `track` (the recorder's track index) at `pts_ms` on the
  // recorder's timeline. Recording thread only.
  virtual void on_frame(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe) = 0;
  // Polled after each batch: true to ask the publisher for a keyframe (the
  // tap throttles itself; the recorder asks its own as well).
  virtual bool keyframe_wanted() = 0;
  // The stream ended (the recorder finishes). Called once.
  virtual void end() = 0;
};

}  // namespace lss::record
