#pragma once
// WHIP (RFC 9725) and WHEP front ends over the HTTP router: validation,
// authentication, CORS and status codes here; the session itself is created
// by the SFU engine on its media worker.
#include <functional>
#include <memory>
#include <string>

#include "http/router.hpp"
#include "sfu/engine.hpp"

namespace lss::signal {

// Runs `fn(engine)` on the engine's worker thread.
using EngineRunner = std::function<void(std::function<void(sfu::Engine&)>)>;

struct WhipWhepOptions {
  std::string stream_key;
};

// Registers /whip/ and /whep/ on `router`.
void register_whip_whep(http::Router& router, EngineRunner run_on_engine, WhipWhepOptions options);

}  // namespace lss::signal
