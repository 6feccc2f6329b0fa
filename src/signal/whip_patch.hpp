#pragma once
// WHIP/WHEP PATCH on a session (RFC 9725 §4.3): trickle ICE and ICE restart
// with `application/trickle-ice-sdpfrag` bodies and If-Match preconditions.
// The decision is pure (request facts and the session's ICE state in, what
// to answer out) so its order of checks is unit-tested; whip_whep.cpp does
// the I/O and the engine the restart itself.
#include <optional>
#include <string>
#include <string_view>

#include "sdp/negotiation.hpp"
#include "sdp/sdp_fragment.hpp"
#include "sfu/engine.hpp"

namespace lss::signal {

inline constexpr std::string_view kSdpFragType = "application/trickle-ice-sdpfrag";

// If-Match (RFC 9110 §13.1.1): "*" matches any current entity; otherwise a
// comma list of entity tags compared strongly (a weak W/"..." never matches).
bool if_match_matches(std::string_view header, std::string_view etag);

// What the control thread learnt from the request.
struct PatchRequest {
  bool content_type_ok = false;              // Content-Type: application/trickle-ice-sdpfrag
  std::optional<std::string> if_match;       // the If-Match header; nullopt when absent
  std::optional<sdp::SdpFragment> fragment;  // the parsed body, when it parsed
  std::string parse_error;                   // why it did not
};

struct PatchDecision {
  enum class Action { kRefuse, kTrickle, kRestart } action = Action::kRefuse;
  int status = 0;      // kRefuse: the HTTP status; kTrickle: 204; kRestart: 200 once done
  std::string reason;  // kRefuse: the body
};

// In order: unknown session (nullopt) 404; wrong Content-Type 415; no
// If-Match 428; If-Match not "*" and not the current ETag 412; malformed
// fragment 400; If-Match "*" with an ice-ufrag other than the session's
// current remote one (or the one of a restart not yet used, a PATCH sent
// again): ICE restart (400 without a=ice-pwd); anything else is
// trickle: 204, the candidates ignored (the server is ICE-lite: the client
// checks, the server only answers).
PatchDecision decide_patch(const PatchRequest& request,
                           const std::optional<sfu::SessionIce>& session);

// The 200 body of an ICE restart: a=ice-lite, a=ice-options, our new
// ice-ufrag and ice-pwd, and the request's first media section (m= line and
// mid, the bundle tag) holding our candidates and a=end-of-candidates.
// Without a media section in the request, only the session-level lines.
std::string restart_answer_fragment(const sdp::SdpFragment& request,
                                    const sdp::LocalTransport& local);

}  // namespace lss::signal
