#pragma once
// Fragmented MP4 (CMAF) for LL-HLS, without transcoding: the init segment
// (ftyp+moov) once, then one fragment (moof+mdat) per part.
//
// libavformat's "mp4" muxer does the boxes (avcC from Annex B extradata,
// dOps for Opus, esds for AAC, Annex B frames rewritten length-prefixed)
// into an AVIOContext of ours that writes to memory. With movflags
// frag_custom it cuts a fragment only when told (av_write_frame(ctx,
// nullptr)), so a part is exactly what we decide it is; we choose the part
// and segment boundaries here, from the frames' times and keyframe flags.
//
// A fragment's last sample needs a duration before the fragment is cut, and
// a live frame's duration is known only when the next frame of its track
// arrives. So each track holds its newest frame back until the next one
// comes: a part is emitted when the first frame of the next part arrives on
// the lead track (the video, or the audio in an audio-only stream), and
// every written sample has its exact duration (the tfdt of each fragment
// is then the sample times themselves, with no drift between tracks).
//
// Cutting (media time of the lead track). The playlist's TARGETDURATION is
// the segment target in whole seconds and must not change (§4.4.3.1), so
// no segment may round above it: segments last at most max_segment_ms
// (target rounded + 400 ms, margin for timing jitter).
//  - a new segment starts at a keyframe once the segment reached its
//    target, or earlier if waiting for the next keyframe (one more GOP, as
//    long as the last one) would pass max_segment_ms: with a 1.5 s GOP and
//    a 2 s target, segments are 1.5 s, each starting with a keyframe;
//  - without a keyframe in time (a WebRTC encoder sends them only when
//    asked: the server should ask every segment target), the segment is cut
//    anyway before it passes max_segment_ms, and the new one does not start
//    independent (its first part is not INDEPENDENT; players join at the
//    next independent part);
//  - otherwise a part is cut before the frame that would take it past
//    part_target_ms (parts stay at most the target, and at least the target
//    minus one frame interval: the 85 % the spec asks for at 30 fps and
//    300 ms parts).
// Frames of the other tracks go to the part in which their time falls (the
// newest one, whose duration is not known yet, goes to the next part).
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "record/clip_writer.hpp"

struct AVFormatContext;
struct AVIOContext;
struct AVPacket;

namespace lss::hls {

struct Fmp4Options {
  int64_t part_target_ms = 300;
  int64_t segment_target_ms = 2000;
};

// TARGETDURATION for a segment target: whole seconds, at least 1.
inline int64_t target_duration_s(int64_t segment_target_ms) {
  return segment_target_ms < 1000 ? 1 : (segment_target_ms + 500) / 1000;
}
// The longest segment the muxer cuts for a segment target.
inline int64_t max_segment_ms(int64_t segment_target_ms) {
  return target_duration_s(segment_target_ms) * 1000 + 400;
}

struct Fmp4Part {
  uint64_t msn = 0;      // the segment it belongs to (0, 1, ...)
  uint32_t index = 0;    // its index in that segment
  int64_t start_ms = 0;  // media time of its start (lead track, from the stream's start)
  int64_t duration_ms = 0;
  bool independent = false;  // starts with a keyframe
  Bytes data;                // moof+mdat

  double duration_s() const { return double(duration_ms) / 1000.0; }
};

class Fmp4Muxer {
 public:
  // Tracks: H264 (extradata: Annex B SPS+PPS, required), opus (extradata:
  // OpusHead, built if empty), AAC (extradata: AudioSpecificConfig,
  // required). At most one video track; it leads the cutting.
  static Result<std::unique_ptr<Fmp4Muxer>> open(const std::vector<record::TrackSpec>& tracks,
                                                 const Fmp4Options& options = {});
  ~Fmp4Muxer();
  Fmp4Muxer(const Fmp4Muxer&) = delete;
  Fmp4Muxer& operator=(const Fmp4Muxer&) = delete;

  // ftyp+moov: what EXT-X-MAP points at.
  const Bytes& init_segment() const { return init_; }

  // One frame: H264 as an Annex B access unit, Opus/AAC as one packet
  // (raw, no ADTS). `pts_ms` in milliseconds on one clock for all tracks
  // (the first frame's time is the stream's zero); it must not go back
  // within a track (a frame that does is moved just after the previous
  // one). The stream starts at the first video keyframe: frames before it
  // are dropped. Parts completed by this frame are appended to `out`.
  lss::Status write(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe,
                    std::vector<Fmp4Part>& out);
  // Writes the frames held back (their durations estimated from the ones
  // before) as the last part. Nothing can be written after it.
  lss::Status finish(std::vector<Fmp4Part>& out);

  uint64_t frames_written() const { return frames_written_; }

 private:
  struct Held {
    Bytes data;
    int64_t pts_ms = 0;
    int64_t duration_ms = 0;  // known once the next frame of the track arrived
    bool keyframe = false;
  };
  struct Track {
    bool video = false;
    int64_t default_duration_ms = 20;
    int64_t last_duration_ms = 0;
    int64_t last_pts_ms = INT64_MIN;
    bool have_held = false;
    Held held;               // the newest frame, duration unknown
    std::deque<Held> ready;  // durations known, not yet in a part (other tracks)
  };

  struct Early {
    size_t track = 0;
    Bytes data;
    int64_t pts_ms = 0;
  };
  // Audio waiting for the first keyframe: about a second of Opus.
  static constexpr size_t kMaxEarlyFrames = 64;

  Fmp4Muxer() = default;
  lss::Status write_packet(size_t track, const Held& frame);
  lss::Status cut_part(int64_t end_ms, std::vector<Fmp4Part>& out);
  lss::Status write_ready_before(int64_t end_ms, bool all);
  static int avio_write(void* self, const uint8_t* data, int size);

  Fmp4Options options_;
  AVFormatContext* ctx_ = nullptr;
  AVIOContext* pb_ = nullptr;
  AVPacket* pkt_ = nullptr;
  Bytes init_;
  Bytes out_;  // what the muxer wrote since the last part
  std::vector<Track> tracks_;
  std::deque<Early> early_;  // before the start
  size_t lead_ = 0;
  bool started_ = false;
  bool finished_ = false;
  int64_t origin_ms_ = 0;  // pts of the first frame: media time zero
  // The part being built (lead track media time).
  uint64_t msn_ = 0;
  uint32_t part_index_ = 0;
  int64_t part_start_ms_ = 0;
  int64_t segment_start_ms_ = 0;
  int64_t last_key_ms_ = 0;  // the lead track's last keyframe
  bool part_independent_ = false;
  bool part_has_frames_ = false;
  uint64_t frames_written_ = 0;
};

// Width and height from the SPS in Annex B H264 (false if there is none).
bool h264_dimensions(ByteSpan annexb, int& width, int& height);

// Sample rate and channel count from an AAC AudioSpecificConfig (false if
// it is too short or uses an explicit frequency we do not handle).
bool parse_audio_specific_config(ByteSpan asc, int& sample_rate, int& channels);

}  // namespace lss::hls
