#include "signal/ice_servers.hpp"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <optional>

#include "common/parse_number.hpp"

namespace lss::signal {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "turn:host..." -> "turn"; empty without a scheme.
std::string scheme_of(std::string_view url) {
  const size_t colon = url.find(':');
  return colon == std::string_view::npos ? std::string() : lower(url.substr(0, colon));
}

bool reg_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
         c == '~' || c == '%';
}

bool printable(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::string quoted_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string base64(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, int(size));
  out.resize(n > 0 ? size_t(n) : 0);
  return out;
}

}  // namespace

bool is_turn_url(std::string_view url) {
  const std::string s = scheme_of(url);
  return s == "turn" || s == "turns";
}

Status validate_ice_server_url(std::string_view url) {
  const std::string scheme = scheme_of(url);
  const bool turn = scheme == "turn" || scheme == "turns";
  if (!turn && scheme != "stun" && scheme != "stuns") {
    return make_error("expected a stun:, stuns:, turn: or turns: URI");
  }
  std::string_view rest = url.substr(scheme.size() + 1);
  if (rest.substr(0, 2) == "//") {
    return make_error("no '//' after the scheme (write " + scheme + ":host:port)");
  }
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return make_error("unclosed [ in the IPv6 address");
    host = rest.substr(0, close + 1);
    for (char c : host.substr(1, host.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return make_error("bad IPv6 address");
    }
    if (host.size() < 3) return make_error("empty IPv6 address");
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error("expected :port after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return make_error("empty port");
    }
  } else {
    if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return make_error("empty port");
    }
    if (host.empty()) return make_error("no host");
    for (char c : host) {
      if (!reg_name_char(c)) return make_error("bad character in the host");
    }
  }
  if (!port.empty()) {
    unsigned p = 0;
    if (!parse_number(port, p) || p == 0 || p > 65535) return make_error("bad port");
  }
  if (!query.empty() || url.find('?') != std::string_view::npos) {
    if (!turn) return make_error("stun: URIs take no ?query");
    const std::string q = lower(query);
    if (q != "transport=udp" && q != "transport=tcp")
      return make_error("the only query is ?transport=udp or ?transport=tcp");
  }
  return {};
}

Status validate_ice_servers(const IceServerOptions& o) {
  bool any_turn = false;
  for (const auto& url : o.urls) {
    if (auto st = validate_ice_server_url(url); !st) {
      return make_error("invalid ICE_SERVERS: '" + url + "': " + st.message());
    }
    any_turn = any_turn || is_turn_url(url);
  }
  const bool static_creds = !o.username.empty() || !o.password.empty();
  if (!o.username.empty() && o.password.empty())
    return make_error("invalid TURN_PASSWORD: required with TURN_USERNAME");
  if (o.username.empty() && !o.password.empty())
    return make_error("invalid TURN_USERNAME: required with TURN_PASSWORD");
  if (static_creds && !o.secret.empty())
    return make_error(
        "invalid TURN_SECRET: set either TURN_USERNAME and TURN_PASSWORD (static credentials) "
        "or TURN_SECRET (coturn's --static-auth-secret), not both");
  if (!printable(o.username) || !printable(o.password))
    return make_error("invalid TURN_USERNAME/TURN_PASSWORD: control characters");
  if (any_turn && !static_creds && o.secret.empty())
    return make_error(
        "invalid ICE_SERVERS: turn: and turns: servers need TURN_USERNAME and TURN_PASSWORD, "
        "or TURN_SECRET");
  if (!any_turn && (static_creds || !o.secret.empty()))
    return make_error(std::string("invalid ") +
                      (o.secret.empty() ? "TURN_USERNAME" : "TURN_SECRET") +
                      ": ICE_SERVERS lists no turn: or turns: server to use it with");
  if (o.ttl < std::chrono::hours(1) || o.ttl > std::chrono::hours(24 * 30))
    return make_error("invalid TURN_TTL: expected 3600 to 2592000 seconds");
  return {};
}

TurnCredential turn_rest_credential(std::string_view secret, std::string_view user,
                                    int64_t expiry_unix) {
  TurnCredential c;
  c.username = std::to_string(expiry_unix);
  if (!user.empty()) c.username += ":" + std::string(user);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, secret.data(), secret.size(),
                 reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(),
                 mac.data(), mac.size(), &len)) {
    len = 0;
  }
  c.credential = base64(mac.data(), len);
  return c;
}

std::string ice_server_link(std::string_view url, const TurnCredential* credential) {
  std::string v = "<" + std::string(url) + ">; rel=\"ice-server\"";
  if (credential) {
    v += "; username=" + quoted_string(credential->username);
    v += "; credential=" + quoted_string(credential->credential);
    v += "; credential-type=\"password\"";
  }
  return v;
}

std::vector<std::string> ice_server_links(const IceServerOptions& o, std::string_view user,
                                          int64_t now_unix) {
  std::vector<std::string> links;
  std::optional<TurnCredential> cred;
  for (const auto& url : o.urls) {
    if (!is_turn_url(url)) {
      links.push_back(ice_server_link(url));
      continue;
    }
    if (!cred) {
      cred = o.secret.empty()
                 ? TurnCredential{o.username, o.password}
                 : turn_rest_credential(o.secret, user, now_unix + int64_t(o.ttl.count()));
    }
    links.push_back(ice_server_link(url, &*cred));
  }
  return links;
}

}  // namespace lss::signal
