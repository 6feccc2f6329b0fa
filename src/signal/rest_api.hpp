#pragma once
// The REST/JSON API over the catalog and the live engine:
//   GET /api/streams[?status=live|ended&limit=&offset=]  live and past streams
//   GET /api/streams/{id}                                one stream with its clips
//   GET /api/clips?stream=<name or id>&since=<ISO 8601>&limit=&offset=
// Field names are documented in README.md.
#include <functional>

#include "catalog/catalog.hpp"
#include "http/router.hpp"
#include "signal/whip_whep.hpp"

namespace lss::signal {

// Runs `fn` on the control thread (catalog calls never run on media workers).
using ControlRunner = std::function<void(std::function<void()>)>;

void register_rest_api(http::Router& router, EngineRouter& engines, ControlRunner run_on_control,
                       catalog::Catalog* catalog);

}  // namespace lss::signal
