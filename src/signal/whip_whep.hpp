#pragma once
// WHIP (RFC 9725) and WHEP front ends over the HTTP router: validation,
// authentication, CORS and status codes here; the session itself is created
// by the SFU engine on its media worker.
#include <functional>
#include <memory>
#include <string>

#include "http/rate_limiter.hpp"
#include "http/router.hpp"
#include "sfu/engine.hpp"
#include "signal/engine_router.hpp"
#include "signal/ice_servers.hpp"
#include "signal/stream_claims.hpp"
#include "signal/stream_relays.hpp"

namespace lss::signal {

struct WhipWhepOptions {
  std::string stream_key;
  // Announced as Link: rel="ice-server" headers on 201 answers and on
  // OPTIONS (not on CORS preflights).
  IceServerOptions ice_servers;
  // Session-creating POSTs per client address (IPv6: per /64); loopback is
  // not limited (a reverse proxy there limits its own clients).
  http::RateLimiter::Options session_rate;
  // Open WHIP and WHEP sessions per client address (IPv6: per /64) at once;
  // 0: no limit. Loopback is not limited.
  size_t sessions_per_ip = 0;
  // Cluster mode: a WHIP publish first claims its stream name (409 when it
  // is live on another node). Null: one node, no claims. Outlives the router.
  StreamClaims* claims = nullptr;
  // With claims: a WHEP viewer of a stream live on another node gets 307 to
  // that node's WHEP URL (CLUSTER_VIEWERS=redirect), not 404.
  bool redirect_viewers = false;
  // With claims: such a viewer is served here from a pull of the stream
  // (CLUSTER_VIEWERS=relay); when the pull fails, it is redirected. Null:
  // no relay. Outlives the router.
  StreamRelays* relays = nullptr;
  // CLUSTER_SECRET: a WHEP request with it as its Bearer token is another
  // node's pull, not held to SESSION_RATE or SESSIONS_PER_IP (one node
  // serves a whole node's viewers through it). Empty: none is.
  std::string cluster_secret;
  // Placement: the base URL of a node to send a new publisher to (307)
  // when this one is over its load; empty: publish here. Control thread.
  std::function<std::string()> place_publisher;
};

// Registers /whip/ and /whep/ on `router`; `engines` outlives it.
void register_whip_whep(http::Router& router, EngineRouter& engines, WhipWhepOptions options);

}  // namespace lss::signal
