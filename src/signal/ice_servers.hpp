#pragma once
// ICE servers for clients (STUN and TURN), announced in WHIP/WHEP answers as
// `Link: <turn:...>; rel="ice-server"; ...` headers (RFC 9725 §4.6). The
// server itself is ICE-lite and never talks to them: a client behind a
// restrictive network relays through TURN and its checks simply arrive from
// the relay's address. TURN credentials are either static or, with a shared
// secret, made per session as coturn's REST API expects
// (--use-auth-secret / --static-auth-secret).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lss::signal {

struct IceServerOptions {
  std::vector<std::string> urls;    // ICE_SERVERS: stun:, stuns:, turn:, turns: URIs
  std::string username, password;   // TURN_USERNAME, TURN_PASSWORD: static credentials
  std::string secret;               // TURN_SECRET: coturn REST API shared secret
  std::chrono::seconds ttl{86400};  // TURN_TTL: how long REST credentials stay valid
};

// One ICE server URI: stun:/stuns: (RFC 7064) or turn:/turns: (RFC 7065),
// host (name, IPv4, or [IPv6]), optional :port, and for TURN an optional
// ?transport=udp|tcp. The error says what is wrong with it.
Status validate_ice_server_url(std::string_view url);
bool is_turn_url(std::string_view url);

// The whole configuration; errors name the variable (ICE_SERVERS,
// TURN_USERNAME, TURN_PASSWORD, TURN_SECRET, TURN_TTL) and the fix.
Status validate_ice_servers(const IceServerOptions& options);

struct TurnCredential {
  std::string username, credential;
};
// coturn's REST API credentials (draft-uberti-behave-turn-rest): username
// "<expiry unix time>:<user>", credential base64(HMAC-SHA1(secret, username)).
TurnCredential turn_rest_credential(std::string_view secret, std::string_view user,
                                    int64_t expiry_unix);

// One Link header value: `<url>; rel="ice-server"`, and for TURN
// `; username="..."; credential="..."; credential-type="password"`
// (RFC 8288 quoted strings: '"' and '\' escaped).
std::string ice_server_link(std::string_view url, const TurnCredential* credential = nullptr);

// Link values for every configured server, in ICE_SERVERS order. TURN
// entries carry the static credentials, or REST credentials for `user` (the
// session id) valid until `now_unix` + ttl.
std::vector<std::string> ice_server_links(const IceServerOptions& options, std::string_view user,
                                          int64_t now_unix);

}  // namespace lss::signal
