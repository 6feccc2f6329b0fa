#include "hls/hls_tap.hpp"

#include <spdlog/spdlog.h>

namespace lss::hls {

void KeyframeCadence::on_video_frame(int64_t pts_ms, bool keyframe) {
  now_ms_ = pts_ms;
  if (keyframe) {
    have_key_ = true;
    last_key_ms_ = pts_ms;
    asked_ = false;
  }
}

bool KeyframeCadence::due() {
  // Before the first keyframe the recorder asks for one itself.
  if (!have_key_) return false;
  if (now_ms_ - last_key_ms_ < interval_ms_ - lead_ms_) return false;
  if (asked_ && now_ms_ - asked_ms_ < retry_ms_) return false;
  asked_ = true;
  asked_ms_ = now_ms_;
  return true;
}

HlsTap::HlsTap(std::shared_ptr<HlsStream> stream, std::string name, int64_t keyframe_interval_ms,
               std::function<void()> on_end)
    : stream_(std::move(stream)),
      name_(std::move(name)),
      on_end_(std::move(on_end)),
      cadence_(keyframe_interval_ms) {}

void HlsTap::on_frame(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe) {
  if (!stream_ || failed_) return;
  if (track == video_track_) cadence_.on_video_frame(pts_ms, keyframe);
  if (auto st = stream_->on_frame(track, frame, pts_ms, keyframe); !st) {
    // The session ended with it (readers see ENDLIST); the recording goes on.
    failed_ = true;
    spdlog::warn("HLS of stream '{}' stopped: {}", name_, st.message());
  }
}

bool HlsTap::keyframe_wanted() {
  return stream_ && !failed_ && cadence_.due();
}

void HlsTap::end() {
  if (stream_) stream_->end();
  if (on_end_) on_end_();
}

}  // namespace lss::hls
