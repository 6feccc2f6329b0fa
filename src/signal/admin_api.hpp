#pragma once
// The operator's API, under /api/admin/:
//   GET    /api/admin/sessions[?stream=<name>&role=publisher|viewer]
//          every publisher and viewer session with live stats
//   DELETE /api/admin/streams/{name}   ends a live stream (its publisher)
//   DELETE /api/admin/sessions/{id}    kicks one publisher or viewer
// Guarded like publishing: with ADMIN_KEY set, "Authorization: Bearer
// <ADMIN_KEY>" (compared in constant time) from anywhere; unset, loopback
// only. Anything else is 401.
#include <functional>
#include <string>

#include "http/router.hpp"
#include "signal/engine_router.hpp"

namespace lss::signal {

struct AdminApiOptions {
  std::string admin_key;  // empty: loopback only
  // A session ended through the API (control thread): for the app's
  // Socket.IO clients. Stream ends reach webhooks and Socket.IO through the
  // engine's own stream and viewer events as well.
  std::function<void(const std::string& stream, const std::string& session_id, bool publisher)>
      on_ended;
  // Runs a function on the control thread (to call on_ended from there).
  std::function<void(std::function<void()>)> post_to_control;
};

void register_admin_api(http::Router& router, EngineRouter& engines, AdminApiOptions options);

}  // namespace lss::signal
