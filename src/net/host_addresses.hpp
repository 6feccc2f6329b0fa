#pragma once
// The machine's own addresses, used as ICE host candidates when PUBLIC_IP is
// not set.
#include <string>
#include <vector>

namespace lss::net {

// Non-loopback IPv4 addresses of interfaces that are up, then 127.0.0.1.
std::vector<std::string> host_candidate_addresses();

}  // namespace lss::net
