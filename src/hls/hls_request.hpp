#pragma once
// What an HTTP request under /hls/{stream}/ asks for, parsed and validated
// without touching any stream (pure), and the Cache-Control of each answer.
//
// Object names carry the stream's session token (a new one each time the
// stream starts): a CDN caches parts, segments and the init segment as
// immutable, and a stream that restarts under the same name must not be
// served the previous session's objects from that cache. Parts are numbered
// by a sequence of their own across the whole session (not by segment and
// index) so that the preload hint can name the next part before anyone knows
// whether it will open a new segment.
//
//   index.m3u8[?_HLS_msn=N[&_HLS_part=M]][&_HLS_skip=YES|v2]   media playlist
//   init-{session}.mp4                                         ftyp+moov
//   seg-{session}-{msn}.mp4                                    a whole segment
//   part-{session}-{seq}.mp4                                   one part
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lss::hls {

inline constexpr std::string_view kPlaylistName = "index.m3u8";

std::string init_name(std::string_view session);
std::string segment_name(std::string_view session, uint64_t msn);
std::string part_name(std::string_view session, uint64_t seq);

enum class HlsObject { kPlaylist, kInit, kSegment, kPart };

struct HlsRequest {
  HlsObject object = HlsObject::kPlaylist;
  std::string session;  // init, segment, part
  uint64_t msn = 0;     // segment
  uint64_t part = 0;    // part: its sequence number
  // Delivery directives (playlist only).
  std::optional<uint64_t> hls_msn;
  std::optional<uint64_t> hls_part;
  bool skip = false;  // _HLS_skip=YES or v2 (we have no date ranges: both mean segments)

  bool blocking() const { return hls_msn.has_value(); }
};

struct RequestError {
  int status = 400;  // 400 for a bad query, 404 for a name we never serve
  std::string message;
};

// `target` is the request target below /hls/{stream}/, query included, e.g.
// "index.m3u8?_HLS_msn=12&_HLS_part=3". Parameters other than the _HLS_ ones
// are ignored (players and CDNs add their own); the directives are validated
// as RFC 8216bis §6.2.5.2 says: a malformed value, a repeated directive, or
// _HLS_part without _HLS_msn is a 400.
Result<HlsRequest, RequestError> parse_hls_request(std::string_view target);

// Timing of the stream a Cache-Control is computed for.
struct CacheTiming {
  int64_t part_target_ms = 300;
};

// Parts, segments and init: immutable (names are unique per session).
// Blocking playlist reloads: a short public max-age (a few part targets),
// so a CDN collapses the many identical requests for the next part into
// one. Plain playlist requests: max-age=1 (a CDN still collapses bursts,
// players then switch to blocking reloads).
std::string cache_control(const HlsRequest& request, const CacheTiming& timing);
// For error answers (400, 404, 503): not to be cached.
inline constexpr std::string_view kNoStore = "no-store";

// Content-Type of each object.
std::string_view content_type(HlsObject object);

}  // namespace lss::hls
