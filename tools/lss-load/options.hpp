#pragma once
// lss-load's command line, parsed by hand (no exceptions, no extra
// dependency): `--name value` or `--name=value`.
#include <cstdint>
#include <string>

#include "codec/keyframe.hpp"
#include "common/result.hpp"

namespace lss::load {

struct Options {
  std::string url;     // http://HOST:PORT of the server
  std::string host;    // HOST from url, used to pick the media candidate
  std::string stream;  // stream name (publishers > 1: NAME-0 .. NAME-(M-1))
  int publishers = 0;  // WHIP publishers started by lss-load
  int viewers = 0;     // WHEP viewers
  double duration_s = 10;
  int bitrate_kbps = 2500;  // video; the clip's Opus stays at its own rate
  double ramp_per_s = 50;
  std::string key;  // Bearer token for WHIP
  int server_pid = 0;
  bool json = false;
  // Publishers' video codec: kVP8 or kH264 (their WHIP offer and the clip's).
  codec::VideoCodec codec = codec::VideoCodec::kVP8;
  // WebM/Matroska with VP8 or H264 + Opus; empty: the codec's default,
  // "synthetic": generated frames (VP8 only)
  std::string clip;
  std::string media_host;  // overrides the IP of the server's ICE candidate
  int srtp_sample = 16;    // viewers unprotect every Nth RTP packet (and all RTCP)
  int remb_kbps = 0;       // viewers send a REMB of this every second (0: none)
  double join_timeout_s = 10;
  int http_threads = 4;
  // --cycles N: every publisher or viewer place is taken by N sessions in
  // turn, each staying hold_ms after its media started (cycles.hpp).
  int cycles = 0;
  int hold_ms = 1000;
  // --janus ID: viewers watch Janus streaming mountpoint ID through Janus'
  // HTTP API at --url (e.g. http://127.0.0.1:8088/janus) instead of WHEP.
  int64_t janus_mountpoint = -1;
  // --rtp-out HOST:VIDEOPORT:AUDIOPORT: the publisher sends plain RTP there
  // instead of publishing over WHIP.
  std::string rtp_out_host;
  uint16_t rtp_out_video_port = 0, rtp_out_audio_port = 0;
  bool janus() const { return janus_mountpoint >= 0; }
  bool rtp_out() const { return rtp_out_video_port != 0; }
  bool help = false;
};

// Never fails for --help (help is set instead); otherwise a message naming
// the bad or missing option.
Result<Options> parse_options(int argc, char** argv);
std::string usage(const char* argv0);

}  // namespace lss::load
