#pragma once
// What per-client limits count by: a client's IPv4 address, or its IPv6 /64
// (one host often holds many addresses of its /64, so a finer key would let
// it multiply its share). Loopback is never limited: a reverse proxy on this
// machine limits its own clients, and this machine's tools are trusted.
#include <string>

#include "common/socket_address.hpp"

namespace lss::http {

std::string client_key(const SocketAddress& a);

}  // namespace lss::http
