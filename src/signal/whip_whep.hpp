#pragma once
// WHIP (RFC 9725) and WHEP front ends over the HTTP router: validation,
// authentication, CORS and status codes here; the session itself is created
// by the SFU engine on its media worker.
#include <functional>
#include <memory>
#include <string>

#include "http/router.hpp"
#include "sfu/engine.hpp"
#include "signal/engine_router.hpp"

namespace lss::signal {

struct WhipWhepOptions {
  std::string stream_key;
};

// Registers /whip/ and /whep/ on `router`; `engines` outlives it.
void register_whip_whep(http::Router& router, EngineRouter& engines, WhipWhepOptions options);

}  // namespace lss::signal
