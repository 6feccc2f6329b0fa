#pragma once
// Feeds a recorder's frames into an HlsStream (record::FrameTap), on the
// recording thread: the HlsStream's one writer. It also asks for keyframes:
// a WebRTC encoder sends one only when asked, and a segment can start
// independent (a player can join or switch there) only at a keyframe, so
// the tap asks about once per segment target.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hls/hls_stream.hpp"
#include "record/frame_tap.hpp"

namespace lss::hls {

// When to ask for the next keyframe, on the lead track's media time. Pure.
class KeyframeCadence {
 public:
  // Ask `lead_ms` before the target is reached (the PLI's round trip and
  // the encoder's reaction), and again every `retry_ms` until one comes.
  explicit KeyframeCadence(int64_t interval_ms, int64_t lead_ms = 300, int64_t retry_ms = 500)
      : interval_ms_(interval_ms), lead_ms_(lead_ms), retry_ms_(retry_ms) {}
  void on_video_frame(int64_t pts_ms, bool keyframe);
  // True once per due request (then not again for retry_ms).
  bool due();

 private:
  int64_t interval_ms_, lead_ms_, retry_ms_;
  bool have_key_ = false;
  int64_t last_key_ms_ = 0, now_ms_ = 0;
  bool asked_ = false;
  int64_t asked_ms_ = 0;
};

class HlsTap final : public record::FrameTap {
 public:
  // `stream` has been start()ed; null for a stream HLS cannot carry (the
  // tap then only reports the end). `on_end` runs on the recording thread
  // after stream->end().
  HlsTap(std::shared_ptr<HlsStream> stream, std::string name, int64_t keyframe_interval_ms,
         std::function<void()> on_end);

  void on_frame(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe) override;
  bool keyframe_wanted() override;
  void end() override;

  // The recorder's track that leads (the video), if any.
  void set_video_track(size_t track) { video_track_ = track; }

 private:
  std::shared_ptr<HlsStream> stream_;
  std::string name_;
  std::function<void()> on_end_;
  KeyframeCadence cadence_;
  size_t video_track_ = SIZE_MAX;
  bool failed_ = false;
};

}  // namespace lss::hls
