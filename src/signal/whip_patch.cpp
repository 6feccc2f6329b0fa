#include "signal/whip_patch.hpp"

#include "sdp/sdp_writer.hpp"

namespace lss::signal {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool if_match_matches(std::string_view header, std::string_view etag) {
  header = trim(header);
  if (header == "*") return true;
  while (!header.empty()) {
    // Entity tags may hold commas inside their quotes: walk them.
    header = trim(header);
    if (header.substr(0, 2) == "W/") {
      header.remove_prefix(2);
      const size_t close = header.size() > 1 ? header.find('"', 1) : std::string_view::npos;
      if (header.empty() || header.front() != '"' || close == std::string_view::npos) return false;
      header.remove_prefix(close + 1);  // weak: never matches under strong comparison
    } else if (!header.empty() && header.front() == '"') {
      const size_t close = header.find('"', 1);
      if (close == std::string_view::npos) return false;
      if (header.substr(0, close + 1) == etag) return true;
      header.remove_prefix(close + 1);
    } else {
      return false;  // not an entity tag
    }
    header = trim(header);
    if (header.empty()) break;
    if (header.front() != ',') return false;
    header.remove_prefix(1);
  }
  return false;
}

PatchDecision decide_patch(const PatchRequest& req, const std::optional<sfu::SessionIce>& session) {
  using Action = PatchDecision::Action;
  if (!session) return {Action::kRefuse, 404, "unknown session"};
  if (!req.content_type_ok) {
    return {Action::kRefuse, 415,
            "PATCH needs Content-Type: application/trickle-ice-sdpfrag (RFC 8840)"};
  }
  if (!req.if_match) {
    return {Action::kRefuse, 428,
            "PATCH needs If-Match: the session's ETag (trickle) or * (ICE restart)"};
  }
  const bool any = trim(*req.if_match) == "*";
  if (!any && !if_match_matches(*req.if_match, session->etag)) {
    return {Action::kRefuse, 412,
            "If-Match does not match the session's ETag (" + session->etag +
                "); it changes with each ICE restart"};
  }
  if (!req.fragment) {
    return {Action::kRefuse, 400, "malformed SDP fragment: " + req.parse_error};
  }
  const auto ufrag = req.fragment->ufrag();
  // A restart PATCH sent again (its answer lost) carries the ufrag the
  // pending restart already took: restarted again, with fresh credentials.
  if (any && ufrag && (*ufrag != session->remote_ufrag || session->restart_pending)) {
    if (!req.fragment->pwd()) {
      return {Action::kRefuse, 400, "an ICE restart needs a=ice-pwd with the new a=ice-ufrag"};
    }
    return {Action::kRestart, 200, {}};
  }
  return {Action::kTrickle, 204, {}};
}

std::string restart_answer_fragment(const sdp::SdpFragment& request,
                                    const sdp::LocalTransport& local) {
  sdp::SdpFragment out;
  out.ice_lite = true;
  out.ice_options = {"ice2"};
  out.ice_ufrag = local.ice_ufrag;
  out.ice_pwd = local.ice_pwd;
  if (!request.media.empty()) {
    const auto& first = request.media.front();
    sdp::FragmentSection m;
    m.media = first.media;
    m.port = "9";
    m.proto = first.proto;
    m.formats = first.formats;
    m.mid = first.mid;
    // The same candidate lines as in the session's answer.
    const std::string lines = sdp::transport_lines(local, sdp::SetupLine::kPassive);
    size_t pos = 0;
    while (pos < lines.size()) {
      size_t end = lines.find("\r\n", pos);
      if (end == std::string::npos) end = lines.size();
      const std::string_view line = std::string_view(lines).substr(pos, end - pos);
      if (line.substr(0, 12) == "a=candidate:") m.candidates.emplace_back(line.substr(12));
      pos = end + 2;
    }
    m.end_of_candidates = true;
    out.media.push_back(std::move(m));
  }
  return sdp::write_sdp_fragment(out);
}

}  // namespace lss::signal
