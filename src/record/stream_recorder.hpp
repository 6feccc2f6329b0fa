#pragma once
// Records one stream: reorders and depacketizes each track's RTP, gives
// frames presentation times, and writes them into clips cut by ClipPolicy at
// keyframes, so every frame lands in exactly one clip. Finished clips are left
// in the spool with a JSON sidecar for the uploader. Runs on the recording
// thread only.
//
// When the spool cannot be written (a full disk), the recording pauses: the
// clip in progress keeps what reached the disk, frames are skipped, and every
// kRetryInterval it tries again: first to finish that clip (remux_clip, as
// after a crash), then to start a new one at a keyframe. One log line says
// it paused, one that it resumed.
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/depacketizer.hpp"
#include "common/time.hpp"
#include "record/clip_info.hpp"
#include "record/clip_policy.hpp"
#include "record/clip_writer.hpp"
#include "record/file_io.hpp"
#include "record/frame_tap.hpp"
#include "record/recording_stats.hpp"
#include "record/reorder_buffer.hpp"

namespace lss::record {

struct RecordedTrack {
  bool video = false;
  std::string codec;  // "VP8", "VP9", "H264", "AV1", "opus"
  uint32_t clock_rate = 90000;
};

struct RecorderOptions {
  std::string spool_dir;
  std::string stream_name, stream_id;
  std::chrono::system_clock::time_point started;
  ClipLimits limits;
  std::vector<RecordedTrack> tracks;
  FileIo* io = nullptr;             // the disk itself unless a test says
  RecordingStats* stats = nullptr;  // shared by a service's recorders; own if null
  // Whether clips are written: without, the recorder only depacketizes for
  // `tap` (a server that serves HLS but records nothing).
  bool write_clips = true;
  std::shared_ptr<FrameTap> tap;  // sees every frame; may be null
};

class StreamRecorder {
 public:
  using ClipCallback = std::function<void(const ClipInfo&)>;
  // How often a paused recording tries the disk again.
  static constexpr auto kRetryInterval = std::chrono::seconds(1);
  // Free space a paused recording waits for (on top of a clip to remux).
  static constexpr uint64_t kResumeFreeBytes = 1 << 20;

  StreamRecorder(RecorderOptions options, ClipCallback on_clip);
  ~StreamRecorder();

  void on_packet(uint8_t track, const uint8_t* data, size_t size, Timestamp arrival);
  // A sender report of `track`: maps its RTP clock to the sender's NTP clock,
  // the common timeline that keeps audio and video in sync.
  void on_sender_report(uint8_t track, uint64_t ntp, uint32_t rtp_timestamp, Timestamp arrival);
  // Closes the current clip (the stream ended).
  void finish();

  // The recorder needs a keyframe (to start, to cut, or after a loss).
  bool keyframe_wanted() const {
    return keyframe_wanted_ || (opts_.write_clips && policy_.keyframe_wanted()) ||
           (opts_.tap && opts_.tap->keyframe_wanted());
  }
  void keyframe_requested() { keyframe_wanted_ = false; }
  int clips_finished() const { return clips_finished_; }
  uint64_t frames_written(bool video) const {
    return video ? video_frames_total_ : audio_frames_total_;
  }
  uint64_t frames_dropped() const { return frames_dropped_; }
  // Frames skipped because the recording was paused.
  uint64_t frames_not_recorded() const { return frames_not_recorded_; }
  bool paused() const { return paused_; }
  const std::string& last_error() const { return last_error_; }

 private:
  struct TrackState {
    RecordedTrack spec;
    std::unique_ptr<codec::Depacketizer> depacketizer;
    ReorderBuffer reorder;
    bool have_base = false;
    int64_t base_ts = 0;  // unwrapped RTP timestamp of the first frame
    int64_t base_ms = 0;  // its time since the recording started
    uint32_t last_ts = 0;
    int64_t ts_cycles = 0;
    int width = 0, height = 0;
    Bytes extradata;
    bool have_sr = false;
    double sr_ntp_ms = 0;      // sender NTP time of the last SR, in ms
    int64_t sr_unwrapped = 0;  // its RTP timestamp on this track's unwrapped scale
  };

  void on_frame(size_t track, codec::EncodedFrame& frame, Timestamp arrival);
  int64_t frame_pts_ms(TrackState& t, uint32_t rtp_ts, Timestamp arrival);
  bool write(size_t track, const codec::EncodedFrame& frame, int64_t pts_ms);
  bool open_clip(int64_t start_pts_ms);
  void close_clip();
  // A write failed: keep what the clip has on disk and pause.
  void interrupt(const std::string& error);
  void pause(const std::string& error);
  // While paused: true once the retry timer has finished the interrupted
  // clip and this frame can start the next one.
  bool ready_to_resume(bool can_start);
  bool space_to_resume() const;
  lss::Status finish_unfinished();
  // The unfinished clip has nothing worth keeping: it goes, and so does its number.
  lss::Status drop_unfinished(const std::string& why);

  // A clip closed but not yet published: it waits for the disk.
  struct Unfinished {
    ClipInfo info;
    bool remux = false;    // cut by a failed write: only remux_clip completes it
    bool renamed = false;  // at its final name, only the sidecar is missing
  };

  RecorderOptions opts_;
  ClipCallback on_clip_;
  ClipPolicy policy_;
  std::vector<TrackState> tracks_;
  bool has_video_ = false;
  Timestamp recording_start_{};
  bool started_ = false;
  bool have_ntp_offset_ = false;
  double ntp_offset_ms_ = 0;  // sender NTP ms minus our ms since the recording started

  std::unique_ptr<ClipWriter> writer_;
  ClipInfo current_;
  int64_t clip_start_pts_ = 0;
  int next_index_ = 0;
  int clips_finished_ = 0;
  std::string dir_key_;                                                // "<name>/<UTC start>-<id>"
  std::deque<std::pair<codec::EncodedFrame, int64_t>> pending_audio_;  // before the first keyframe
  bool keyframe_wanted_ = true;
  uint64_t video_frames_total_ = 0, audio_frames_total_ = 0, frames_dropped_ = 0;
  std::string last_error_;
  FileIo* io_;
  RecordingStats own_stats_;
  RecordingStats* stats_;
  Timestamp now_{};  // arrival of the frame being handled
  bool paused_ = false;
  bool resume_ready_ = false;
  Timestamp paused_at_{}, retry_at_{};
  uint64_t frames_not_recorded_ = 0, not_recorded_at_pause_ = 0;
  std::optional<Unfinished> unfinished_;
  bool tap_ended_ = false;
};

// Parameter sets a muxer needs as extradata: H264 SPS+PPS (Annex B) and the
// AV1 sequence header OBU, taken from a keyframe.
Bytes h264_parameter_sets(ByteSpan annexb);
Bytes av1_sequence_header(ByteSpan obus);

}  // namespace lss::record
