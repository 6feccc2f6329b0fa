#pragma once
// PUBLIC_IP=auto: at start, ask STUN servers which address they see the
// first media worker's UDP socket as, and announce that address too.
//
// The request leaves from the worker's own socket (before the worker
// thread starts, so nothing else reads it), not from a temporary socket on
// the same port: a NAT keeps one mapping per inside address and port, so
// the answer describes exactly the socket that will carry the media; there
// is no moment where the port is closed and another process could take
// it; and it works for any UDP_PORT. The exchange is synchronous on the
// control thread: about 2 s per server that does not answer, before the
// HTTP port opens. The other workers' ports are assumed to map alike (a
// 1:1 NAT, or forwarded ports), since candidates carry each worker's port.
#include <optional>
#include <string>
#include <vector>

#include "common/socket_address.hpp"
#include "common/time.hpp"

namespace lss {

struct Config;
class WorkerPool;

struct StunQueryResult {
  std::optional<SocketAddress> mapped;  // the first answer's address
  std::string server;                   // the URI that gave it
  // One line per server that gave nothing: "<uri>: <what went wrong>".
  std::vector<std::string> problems;
};

// Asks `servers` (stun: URIs) in order through the UDP socket `fd` until
// one answers, each for up to `per_server` (requests at 0, 0.5 and 1.5 s).
// Host names are resolved here (IPv4 addresses first); datagrams from
// anyone but the server asked are read and dropped.
StunQueryResult query_mapped_address(int fd, const std::vector<std::string>& servers,
                                     Duration per_server = std::chrono::seconds(2));

// The PUBLIC_IP=auto step of start-up: asks the STUN servers through
// worker 0's socket, puts the mapped address first in `ips` and gives
// every worker the new candidates. Logs the outcome; when no server
// answers it logs the servers tried and why, and `ips` stay as they were.
std::vector<std::string> apply_public_ip_auto(const Config& config, WorkerPool& workers,
                                              std::vector<std::string> ips);

}  // namespace lss
