#include "hls/hls_request.hpp"

#include <algorithm>

#include "common/parse_number.hpp"

namespace lss::hls {

namespace {

constexpr size_t kMaxSessionLength = 32;

bool valid_session(std::string_view s) {
  if (s.empty() || s.size() > kMaxSessionLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

bool consume(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

RequestError not_found(std::string message) {
  return RequestError{404, std::move(message)};
}
RequestError bad_request(std::string message) {
  return RequestError{400, std::move(message)};
}

// "{session}-{number}" (segments and parts).
bool split_session_number(std::string_view s, std::string& session, uint64_t& number) {
  const size_t dash = s.rfind('-');
  if (dash == std::string_view::npos) return false;
  if (!valid_session(s.substr(0, dash))) return false;
  if (!parse_number(s.substr(dash + 1), number)) return false;
  session = std::string(s.substr(0, dash));
  return true;
}

}  // namespace

std::string init_name(std::string_view session) {
  return "init-" + std::string(session) + ".mp4";
}

std::string segment_name(std::string_view session, uint64_t msn) {
  return "seg-" + std::string(session) + "-" + std::to_string(msn) + ".mp4";
}

std::string part_name(std::string_view session, uint64_t seq) {
  return "part-" + std::string(session) + "-" + std::to_string(seq) + ".mp4";
}

Result<HlsRequest, RequestError> parse_hls_request(std::string_view target) {
  std::string_view path = target, query;
  if (const size_t q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  HlsRequest r;
  if (path == kPlaylistName) {
    r.object = HlsObject::kPlaylist;
  } else {
    std::string_view name = path;
    if (!name.ends_with(".mp4")) return not_found("no such object");
    name.remove_suffix(4);
    if (consume(name, "init-")) {
      if (!valid_session(name)) return not_found("no such object");
      r.object = HlsObject::kInit;
      r.session = std::string(name);
    } else if (consume(name, "seg-")) {
      if (!split_session_number(name, r.session, r.msn)) return not_found("no such segment");
      r.object = HlsObject::kSegment;
    } else if (consume(name, "part-")) {
      if (!split_session_number(name, r.session, r.part)) return not_found("no such part");
      r.object = HlsObject::kPart;
    } else {
      return not_found("no such object");
    }
    // Delivery directives mean nothing for media objects: a player or a
    // CDN adding a query string gets the object regardless.
    return r;
  }
  bool have_skip = false;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const size_t eq = param.find('=');
    const std::string_view key = param.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    if (key == "_HLS_msn") {
      uint64_t v = 0;
      if (r.hls_msn || !parse_number(value, v)) return bad_request("bad _HLS_msn");
      r.hls_msn = v;
    } else if (key == "_HLS_part") {
      uint64_t v = 0;
      if (r.hls_part || !parse_number(value, v)) return bad_request("bad _HLS_part");
      r.hls_part = v;
    } else if (key == "_HLS_skip") {
      if (have_skip || (value != "YES" && value != "v2")) return bad_request("bad _HLS_skip");
      have_skip = true;
      r.skip = true;
    }
  }
  if (r.hls_part && !r.hls_msn) return bad_request("_HLS_part without _HLS_msn");
  return r;
}

std::string cache_control(const HlsRequest& request, const CacheTiming& timing) {
  switch (request.object) {
    case HlsObject::kInit:
    case HlsObject::kSegment:
    case HlsObject::kPart:
      return "public, max-age=31536000, immutable";
    case HlsObject::kPlaylist:
      break;
  }
  if (!request.blocking()) return "public, max-age=1";
  // A blocking response is the playlist as of the part it waited for; every
  // client asking for that part wants exactly it. Six part targets (~2 s)
  // covers the clients that are a little behind, and no one asks for it later.
  const int64_t seconds = std::max<int64_t>(1, (6 * timing.part_target_ms + 999) / 1000);
  return "public, max-age=" + std::to_string(seconds);
}

std::string_view content_type(HlsObject object) {
  return object == HlsObject::kPlaylist ? "application/vnd.apple.mpegurl" : "video/mp4";
}

}  // namespace lss::hls
