#pragma once
// The peer's ICE candidates in a description (RFC 8839 §5.1), as the
// addresses a full ICE agent checks: UDP, component 1, IP literals (a
// candidate naming a host, an mDNS .local one, is skipped: nothing here
// resolves it). In the order written, each once.
#include <vector>

#include "common/socket_address.hpp"
#include "sdp/session_description.hpp"

namespace lss::sdp {

std::vector<SocketAddress> udp_candidates(const SessionDescription& sdp);

}  // namespace lss::sdp
