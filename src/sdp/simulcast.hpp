#pragma once
// Simulcast in SDP (RFC 8853) with RTP stream identifiers (RFC 8851): the
// publisher's "a=simulcast:send q;h;f" and "a=rid:q send" lines, and the
// answer's "a=rid:q recv" / "a=simulcast:recv q;h;f". The layers are then
// told apart by the rtp-stream-id header extension (repaired-rtp-stream-id
// on their RTX), since the offer carries no SSRCs for them.
#include <optional>
#include <string>
#include <vector>

#include "sdp/session_description.hpp"

namespace lss::sdp {

// At most this many layers are taken (the first ones the offer lists).
inline constexpr size_t kMaxSimulcastLayers = 3;

// The rids a section offers to send as simulcast, in the offer's order: the
// first alternative of each stream of a=simulcast:send (paused ones
// included), each declared by an "a=rid:<id> send" line. Empty when the
// section does not offer simulcast or the offer is inconsistent (then the
// publisher sends its first encoding only, as without simulcast).
std::vector<std::string> offered_send_rids(const MediaSection& m);

// The answer's lines accepting `rids` for receiving.
std::string simulcast_recv_lines(const std::vector<std::string>& rids);

}  // namespace lss::sdp
