#pragma once
// What publishers send: a short VP8 or H264 + Opus clip (demuxed from
// WebM/Matroska with libavformat, or synthesized for VP8), looped with
// continuing RTP timestamps and sequence numbers, packetized per RFC 7741
// (VP8), RFC 6184 packetization-mode 1 (H264) and RFC 7587 (Opus, one frame
// per packet). Every packet carries abs-send-time stamped from
// CLOCK_MONOTONIC at send time, so viewers in this process measure latency.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "codec/keyframe.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"
#include "h264_nal.hpp"

namespace lss::load {

struct MediaFrame {
  int64_t pts_us = 0;     // from the start of the clip
  bool keyframe = false;  // VP8: a key frame; H264: holds an IDR slice
  Bytes data;             // VP8 and Opus: the frame
  NalUnits nals;          // H264: the access unit's NAL units (SPS + PPS before an IDR)
  size_t size() const;    // media bytes, for bitrates
};

struct Track {
  std::vector<MediaFrame> frames;
  int64_t period_us = 0;  // loop length: last pts + one frame duration
};

struct Clip {
  Track video, audio;
  codec::VideoCodec video_codec = codec::VideoCodec::kVP8;  // kVP8 or kH264
  std::string source;                                       // the file, or "synthetic"
  double video_kbps() const;
  double audio_kbps() const;
};

// VP8 or H264 (AVCC, as Matroska and MP4 store it) and Opus frames from a
// WebM/Matroska file.
Result<Clip> load_clip(const std::string& path);
// 3 s of VP8 frames with valid key/inter frame headers (640x360, 30 fps, a
// keyframe every 1.5 s) and 20 ms Opus CELT frames of about 64 kbps.
Clip synthesize_clip();
// Pads or truncates video frames so the loop averages `kbps`. VP8 frames get
// zeros after the last partition (decoders ignore them) or are cut, and cut
// frames no longer decode. H264 access units get a filler data NAL unit and
// are never cut, so every frame decodes and below the clip's own rate it is
// sent as encoded.
void scale_video_bitrate(Clip& clip, double kbps);

// 24-bit abs-send-time (6.18 fixed-point seconds) of a CLOCK_MONOTONIC time.
uint32_t abs_send_time(Timestamp t);
// Latency from an abs-send-time value to `now`, modulo its 64 s range (stamps
// up to 32 s ahead of `now` count as 0).
int64_t abs_send_time_age_us(uint32_t sent, Timestamp now);

struct SenderConfig {
  uint32_t video_ssrc = 0, audio_ssrc = 0;
  uint8_t video_pt = 96, audio_pt = 111;
  uint8_t abs_send_time_id = 3;  // the one-byte extension id we offered
  size_t max_payload = 1180;     // RTP payload bytes per packet (fits 1200 + SRTP)
};

// One publisher's cursor over a shared clip.
class MediaSender {
 public:
  // Room for the packet plus the SRTP trailer protect() appends in place.
  static constexpr size_t kBufferSize = 1500;
  using Emit = std::function<void(uint8_t* data, size_t len, bool video)>;

  MediaSender(const Clip& clip, SenderConfig config);

  // Sends (through `emit`) every frame due by `now`; the first call starts the clock.
  void poll(Timestamp now, const Emit& emit);
  // PLI/FIR: the next video frame sent is the clip's first keyframe, at the
  // slot (and timestamp) of the frame it replaces.
  void request_keyframe(Timestamp now);
  // RTP timestamp of `now` on a track's clock, for sender reports.
  uint32_t rtp_time(bool video, Timestamp now) const;

  uint64_t video_packets = 0, audio_packets = 0, video_bytes = 0, audio_bytes = 0;
  uint64_t video_frames = 0, keyframes = 0, keyframe_requests = 0;

 private:
  struct Cursor {
    size_t index = 0;
    int64_t loop_base_us = 0;  // time of the current loop's pts 0 since start
    uint32_t ts_base = 0;      // random RTP timestamp offset
    uint16_t seq = 0;
    uint32_t clock = 0;  // RTP clock rate
  };
  static constexpr size_t kHeaderSize = 20;  // RTP header + the abs-send-time extension
  size_t write_header(uint8_t* p, bool video, bool marker, uint32_t ts, Timestamp now);
  void send_video_frame(const MediaFrame& f, uint32_t ts, Timestamp now, const Emit& emit);
  void send_vp8(const MediaFrame& f, uint32_t ts, Timestamp now, const Emit& emit);
  void send_h264(const MediaFrame& f, uint32_t ts, Timestamp now, const Emit& emit);
  void emit_video(size_t len, const Emit& emit);

  const Clip& clip_;
  SenderConfig cfg_;
  Cursor video_, audio_;
  bool started_ = false;
  Timestamp start_{};
  uint16_t picture_id_ = 0;
  bool keyframe_wanted_ = false;
  Timestamp last_keyframe_{};
  uint8_t buf_[kBufferSize];
};

}  // namespace lss::load
