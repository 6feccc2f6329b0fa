#pragma once
// Writes one clip file with libavformat (muxing only, no transcoding):
// WebM for VP8/VP9/AV1 + Opus, Matroska for H264 + Opus. Both stay readable
// when the process dies mid-write (no index needed to play), and a crash
// leftover is finalized by remuxing (see remux_clip).
//
// What a crash can cost: the muxer holds the cluster it is building in
// memory, so clusters are cut every kClusterMs and each one goes to the file
// (a write(2)) as soon as it is complete; a kill -9 loses at most the cluster
// in progress. The file is fdatasync'ed at the first cluster end kSyncMs
// after the last sync, so a power loss loses at most about kSyncMs +
// kClusterMs.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "record/clip_info.hpp"
#include "record/file_io.hpp"

struct AVFormatContext;
struct AVIOContext;
struct AVPacket;

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
  // Longest cluster (media time): what a kill -9 can lose at most.
  static constexpr int64_t kClusterMs = 500;
  // fdatasync cadence (media time): what a power loss can lose on top.
  static constexpr int64_t kSyncMs = 2000;

  // The file's bytes go through `io` (the disk itself unless a test says).
  static Result<std::unique_ptr<ClipWriter>> open(const std::string& path,
                                                  const std::vector<TrackSpec>& tracks,
                                                  FileIo& io = system_file_io());
  ~ClipWriter();
  ClipWriter(const ClipWriter&) = delete;
  ClipWriter& operator=(const ClipWriter&) = delete;

  // `pts_ms` is the presentation time in milliseconds from the clip's start.
  lss::Status write(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe);
  // Writes the trailer (index, durations) and closes the file. After a
  // failed write the file keeps what reached the disk before it; only
  // remux_clip makes that a complete clip.
  lss::Status finish();

  uint64_t bytes_written() const;
  int64_t duration_ms() const { return last_pts_ms_ < 0 ? 0 : last_pts_ms_ - first_pts_ms_; }
  uint64_t frames(size_t track) const { return track < frames_.size() ? frames_[track] : 0; }
  // How many times the file was fdatasync'ed (clusters made durable).
  uint64_t syncs() const { return syncs_; }

 private:
  ClipWriter() = default;
  void sync();
  static int avio_write(void* self, const uint8_t* data, int size);
  static int64_t avio_seek(void* self, int64_t offset, int whence);

  AVFormatContext* ctx_ = nullptr;
  AVIOContext* pb_ = nullptr;  // ours: AVIO writes through io_ to fd_
  AVPacket* pkt_ = nullptr;    // reused: writing a frame allocates nothing here
  FileIo* io_ = nullptr;
  int fd_ = -1;
  std::string path_;
  std::vector<uint64_t> frames_;
  std::vector<int64_t> last_track_pts_;
  int64_t first_pts_ms_ = -1, last_pts_ms_ = -1;
  int64_t file_bytes_ = 0;        // what the muxer had handed to the file at the last frame
  int64_t last_sync_pts_ms_ = 0;  // media time of the last fdatasync
  uint64_t syncs_ = 0;
  lss::Status sync_error_;  // the first failed sync, reported by finish()
  bool finished_ = false;
};

// Rewrites a clip left half-written (e.g. by a crash) into a complete file
// with an index and a duration. The tail a crash cut is dropped: a frame the
// demuxer flags corrupt or reads short ends the clip, and so does anything
// after the read error that a cut cluster causes. The result is fdatasync'ed.
lss::Status remux_clip(const std::string& in_path, const std::string& out_path);

// Fills duration, bytes, codecs, size and frame counts of `info` from the file.
lss::Status probe_clip(const std::string& path, ClipInfo& info);

// The Opus identification header (RFC 7845 §5.1) Matroska/WebM want as CodecPrivate.
Bytes opus_head(int channels = 2, int sample_rate = 48000, int pre_skip = 312);

}  // namespace lss::record
