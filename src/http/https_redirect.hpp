#pragma once
// The plain-HTTP port that sends everyone to HTTPS (HTTP_REDIRECT_PORT).
#include <cstdint>
#include <string>
#include <string_view>

#include "http/http_types.hpp"

namespace lss::http {

// The https:// URL of a request that came over plain HTTP: the host name of
// its Host header, `https_port` (left out when 443), and the same path and
// query. Empty when the Host header is missing or not a host name or IP
// literal (then there is nowhere safe to send the client).
std::string https_location(std::string_view host_header, uint16_t https_port,
                           std::string_view target);

// Answers every request with a redirect to https_location(): 301 for GET
// and HEAD, 308 for other methods (which keeps the method and body, e.g. a
// WHIP POST); 400 without a usable Host header.
Handler https_redirect_handler(uint16_t https_port);

}  // namespace lss::http
