#pragma once
// One publisher or viewer session as an operator sees it (GET
// /api/admin/sessions): who, from where, what codec, how fast, how well.
#include <cstdint>
#include <optional>
#include <string>

#include "common/socket_address.hpp"

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
  uint64_t bitrate_bps = 0;  // over the last second: arriving (publisher) or sent (viewer)
  double loss = 0;           // fraction 0..1 of video packets lost on the way, latest report
  std::optional<double>
      rtt_ms;  // viewers: their receiver reports; publishers: NACK to repair; unmeasured: empty
  std::string since;  // ISO 8601 UTC of the session's start
};

// The media path's address as `remote` ("ip:port", the transport apart).
inline void set_media_address(SessionSummary& s, const SocketAddress& a) {
  s.transport = a.is_tcp() ? "tcp" : "udp";
  SocketAddress plain = a;
  plain.transport = SocketAddress::Transport::kUdp;  // to_string() prefixes TCP with "tcp:"
  s.remote = plain.to_string();
}

}  // namespace lss::sfu
