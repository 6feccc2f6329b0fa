#include "app/public_ip.hpp"

#include <algorithm>
#include <cctype>

#include "app/config.hpp"
#include "common/parse_number.hpp"
#include "common/socket_address.hpp"
#include "signal/ice_servers.hpp"

namespace lss {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string scheme_of(std::string_view uri) {
  const size_t colon = uri.find(':');
  return colon == std::string_view::npos ? std::string() : lower(uri.substr(0, colon));
}

bool unspecified(const SocketAddress& a) {
  const size_t n = a.is_ipv4() ? 4 : 16;
  return std::all_of(a.ip.begin(), a.ip.begin() + n, [](uint8_t b) { return b == 0; });
}

bool multicast(const SocketAddress& a) {
  return a.is_ipv4() ? (a.ip[0] & 0xF0) == 0xE0 : a.ip[0] == 0xFF;
}

}  // namespace

Result<PublicIpSetting> parse_public_ip(const std::vector<std::string>& entries) {
  PublicIpSetting out;
  for (const auto& entry : entries) {
    if (lower(entry) == "auto") {
      if (out.auto_discover) return make_error("invalid PUBLIC_IP: 'auto' is listed twice");
      out.auto_discover = true;
      continue;
    }
    std::string_view ip = entry;
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    auto parsed = SocketAddress::parse(ip, 0);
    if (!parsed) {
      return make_error("invalid PUBLIC_IP: '" + entry +
                        "' is not an IP address (expected IPv4 like 203.0.113.10 or IPv6 like "
                        "2001:db8::10, without a port or zone, or 'auto')");
    }
    if (unspecified(*parsed) || multicast(*parsed)) {
      return make_error("invalid PUBLIC_IP: '" + entry +
                        "' is not an address a client can send to (unspecified or multicast)");
    }
    std::string canonical = parsed->ip_string();
    if (std::find(out.addresses.begin(), out.addresses.end(), canonical) == out.addresses.end())
      out.addresses.push_back(std::move(canonical));
  }
  return out;
}

Result<StunServerUri> parse_stun_uri(std::string_view uri) {
  const std::string scheme = scheme_of(uri);
  if (scheme == "stuns")
    return make_error("stuns: (STUN over TLS) is not supported for PUBLIC_IP=auto; use stun:");
  if (scheme != "stun") return make_error("expected a stun: URI (stun:host or stun:host:port)");
  if (auto st = signal::validate_ice_server_url(uri); !st) return make_error(st.message());
  StunServerUri out;
  out.uri = std::string(uri);
  std::string_view rest = uri.substr(scheme.size() + 1);
  std::string_view port;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    out.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size()) port = rest.substr(close + 2);
  } else if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
    out.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  } else {
    out.host = std::string(rest);
  }
  if (!port.empty()) {
    unsigned p = 0;
    if (!parse_number(port, p) || p == 0 || p > 65535) return make_error("bad port");
    out.port = uint16_t(p);
  }
  return out;
}

std::vector<std::string> auto_stun_servers(const Config& c) {
  if (!c.stun_servers.empty()) return c.stun_servers;
  std::vector<std::string> out;
  for (const auto& u : c.ice_servers) {
    if (scheme_of(u) == "stun") out.push_back(u);
  }
  return out;
}

Status validate_stun_servers(const Config& c) {
  for (const auto& u : c.stun_servers) {
    if (auto parsed = parse_stun_uri(u); !parsed.ok())
      return make_error("invalid STUN_SERVERS: '" + u + "': " + parsed.error().message);
  }
  if (c.public_ip_auto && auto_stun_servers(c).empty()) {
    return make_error(
        "invalid PUBLIC_IP: 'auto' asks a STUN server for this host's public address, and none "
        "is configured: set STUN_SERVERS (e.g. stun:stun.l.google.com:19302) or list a stun: URI "
        "in ICE_SERVERS");
  }
  return {};
}

std::vector<std::string> with_mapped_address(const std::string& mapped,
                                             const std::vector<std::string>& addresses) {
  std::vector<std::string> out{mapped};
  for (const auto& a : addresses) {
    if (a != mapped) out.push_back(a);
  }
  return out;
}

}  // namespace lss
