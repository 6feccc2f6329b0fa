#pragma once
// One publisher or viewer session as an operator sees it (GET
// /api/admin/sessions): who, from where, what codec, how fast, how well.
#include <cstdint>
#include <optional>
#include <string>

namespace lss::sfu {

struct SessionSummary {
  std::string stream;     // the stream's name
  std::string stream_id;  // the stream's session id (the publisher's)
  std::string session_id;
  bool publisher = false;
  // The media path's remote address (ip:port) once ICE chose one, else the
  // address the session was created from over HTTP (may be empty).
  std::string remote;
  std::string transport;  // "udp" or "tcp" once connected; empty before
  bool connected = false;
  std::string video_codec, audio_codec;  // empty when the session has none
  uint64_t bitrate_bps = 0;      // over the last second: arriving (publisher) or sent (viewer)
  double loss = 0;               // fraction 0..1 of video packets lost on the way, latest report
  std::optional<double> rtt_ms;  // viewers (from their receiver reports); unmeasured: empty
  std::string since;             // ISO 8601 UTC of the session's start
};

}  // namespace lss::sfu
