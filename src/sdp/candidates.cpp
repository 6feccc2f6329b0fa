#include "sdp/candidates.hpp"

#include <algorithm>
#include <sstream>
#include <string>

#include "common/ascii_case.hpp"
#include "common/parse_number.hpp"

namespace lss::sdp {

namespace {

// "<foundation> <component> <transport> <priority> <address> <port> typ <type> ..."
std::optional<SocketAddress> parse_candidate(const std::string& value) {
  std::istringstream in(value);
  std::string foundation, component, transport, priority, address, port;
  if (!(in >> foundation >> component >> transport >> priority >> address >> port)) {
    return std::nullopt;
  }
  if (component != "1") return std::nullopt;
  if (to_lower_ascii(transport) != "udp") return std::nullopt;
  uint16_t p = 0;
  if (!parse_number(port, p) || p == 0) return std::nullopt;
  return SocketAddress::parse(address, p);
}

}  // namespace

std::vector<SocketAddress> udp_candidates(const SessionDescription& sdp) {
  std::vector<SocketAddress> out;
  auto take = [&](const std::vector<std::string>& values) {
    for (const auto& v : values) {
      auto a = parse_candidate(v);
      if (a && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
    }
  };
  take(sdp.attribute_values("candidate"));
  for (const auto& m : sdp.media) take(m.attribute_values("candidate"));
  return out;
}

}  // namespace lss::sdp
