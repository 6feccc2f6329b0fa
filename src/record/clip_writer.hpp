#pragma once
// Writes one clip file with libavformat (muxing only, no transcoding):
// WebM for VP8/VP9/AV1 + Opus, Matroska for H264 + Opus. Both stay readable
// when the process dies mid-write (no index needed to play), and a crash
// leftover is finalized by remuxing (see remux_clip).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "record/clip_info.hpp"

struct AVFormatContext;

namespace lss::record {

struct TrackSpec {
  bool video = false;
  std::string codec;  // "VP8", "VP9", "H264", "AV1", "opus"
  int width = 0, height = 0;
  Bytes extradata;  // H264: Annex B SPS+PPS; AV1: sequence header OBU; Opus: built here if empty
};

// ".webm" or ".mkv" for a set of tracks.
std::string container_extension(const std::vector<TrackSpec>& tracks);

class ClipWriter {
 public:
  static Result<std::unique_ptr<ClipWriter>> open(const std::string& path,
                                                  const std::vector<TrackSpec>& tracks);
  ~ClipWriter();
  ClipWriter(const ClipWriter&) = delete;
  ClipWriter& operator=(const ClipWriter&) = delete;

  // `pts_ms` is the presentation time in milliseconds from the clip's start.
  lss::Status write(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe);
  // Writes the trailer (index, durations) and closes the file.
  lss::Status finish();

  uint64_t bytes_written() const;
  int64_t duration_ms() const { return last_pts_ms_ < 0 ? 0 : last_pts_ms_ - first_pts_ms_; }
  uint64_t frames(size_t track) const { return track < frames_.size() ? frames_[track] : 0; }

 private:
  ClipWriter() = default;
  AVFormatContext* ctx_ = nullptr;
  std::string path_;
  std::vector<uint64_t> frames_;
  std::vector<int64_t> last_track_pts_;
  int64_t first_pts_ms_ = -1, last_pts_ms_ = -1;
  bool finished_ = false;
};

// Rewrites a clip left half-written (e.g. by a crash) into a complete file.
lss::Status remux_clip(const std::string& in_path, const std::string& out_path);

// Fills duration, bytes, codecs, size and frame counts of `info` from the file.
lss::Status probe_clip(const std::string& path, ClipInfo& info);

// The Opus identification header (RFC 7845 §5.1) Matroska/WebM want as CodecPrivate.
Bytes opus_head(int channels = 2, int sample_rate = 48000, int pre_skip = 312);

}  // namespace lss::record
