#include "signal/admin_api.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "signal/publish_auth.hpp"

namespace lss::signal {
namespace bhttp = boost::beast::http;
using http::Request;
using http::RequestContext;
using http::Responder;
using http::Status;
using json = nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "/api/admin/";
constexpr std::string_view kSessions = "sessions";
constexpr std::string_view kStreams = "streams/";
constexpr std::string_view kSessionPrefix = "sessions/";
constexpr const char* kEndedReason = "ended by an admin";

http::Response json_reply(const Request& req, Status status, const json& body) {
  auto res = http::make_response(req, status, body.dump() + "\n", "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  return res;
}

http::Response error_reply(const Request& req, Status status, const std::string& message) {
  return json_reply(req, status, json{{"error", message}});
}

json session_json(const sfu::SessionSummary& s, size_t worker) {
  return {{"stream", s.stream},
          {"stream_id", s.stream_id},
          {"role", s.publisher ? "publisher" : "viewer"},
          {"session_id", s.session_id},
          {"remote", s.remote},
          {"transport", s.transport.empty() ? json(nullptr) : json(s.transport)},
          {"connected", s.connected},
          {"codec", !s.video_codec.empty() ? s.video_codec : s.audio_codec},
          {"video_codec", s.video_codec.empty() ? json(nullptr) : json(s.video_codec)},
          {"audio_codec", s.audio_codec.empty() ? json(nullptr) : json(s.audio_codec)},
          {"bitrate_bps", s.bitrate_bps},
          {"loss", s.loss},
          {"rtt_ms", s.rtt_ms ? json(*s.rtt_ms) : json(nullptr)},
          {"since", s.since},
          {"worker", worker}};
}

// Session ids are hex made by the engine; anything else cannot name one.
bool plausible_session_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

struct Handlers {
  EngineRouter* engines;
  AdminApiOptions options;

  bool authorized(const Request& req, const RequestContext& ctx, Responder& respond) const {
    const auto decision = authorize_publish(
        options.admin_key, bearer_token(req[bhttp::field::authorization]), ctx.remote);
    if (decision == AuthDecision::kAllowed) return true;
    const char* why = decision == AuthDecision::kMissingKey
                          ? "missing admin key (Authorization: Bearer)"
                      : decision == AuthDecision::kWrongKey
                          ? "wrong admin key"
                          : "the admin API without ADMIN_KEY is open to loopback only";
    spdlog::warn("admin: {} {} from {} refused: {}", std::string(req.method_string()),
                 std::string(http::target_path(req.target())), ctx.remote.to_string(), why);
    auto res = error_reply(req, Status::unauthorized, why);
    res.set(bhttp::field::www_authenticate, "Bearer realm=\"admin\"");
    respond(std::move(res));
    return false;
  }

  void handle(const Request& req, const RequestContext& ctx, Responder respond) const {
    if (!authorized(req, ctx, respond)) return;
    const std::string_view path = http::target_path(req.target());
    // The router also sends "/api/admin" (no slash) here.
    const std::string_view rest =
        path.size() > kPrefix.size() ? path.substr(kPrefix.size()) : std::string_view();
    if (rest == kSessions) {
      if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
        return not_allowed(req, "GET", std::move(respond));
      }
      return list_sessions(req, std::move(respond));
    }
    if (rest.starts_with(kStreams)) {
      const std::string name(rest.substr(kStreams.size()));
      if (!valid_stream_name(name)) {
        return respond(
            error_reply(req, Status::bad_request,
                        "invalid stream name: use 1 to 64 characters of A-Z a-z 0-9 _ -"));
      }
      if (req.method() != bhttp::verb::delete_)
        return not_allowed(req, "DELETE", std::move(respond));
      return end_stream(req, name, std::move(respond));
    }
    if (rest.starts_with(kSessionPrefix)) {
      const std::string id(rest.substr(kSessionPrefix.size()));
      if (req.method() != bhttp::verb::delete_)
        return not_allowed(req, "DELETE", std::move(respond));
      if (!plausible_session_id(id))
        return respond(error_reply(req, Status::not_found, "unknown session"));
      return end_session(req, id, std::move(respond));
    }
    respond(error_reply(req, Status::not_found,
                        "not found: /api/admin/sessions, /api/admin/streams/{name} or "
                        "/api/admin/sessions/{id}"));
  }

  static void not_allowed(const Request& req, const char* allow, Responder respond) {
    auto res = error_reply(req, Status::method_not_allowed, std::string("use ") + allow);
    res.set(bhttp::field::allow, allow);
    respond(std::move(res));
  }

  void list_sessions(const Request& req, Responder respond) const {
    const std::string stream = http::query_param(req.target(), "stream");
    const std::string role = http::query_param(req.target(), "role");
    if (!role.empty() && role != "publisher" && role != "viewer") {
      return respond(error_reply(req, Status::bad_request, "role must be publisher or viewer"));
    }
    struct Gathered {
      std::mutex mutex;  // workers add their sessions concurrently
      json sessions = json::array();
    };
    auto g = std::make_shared<Gathered>();
    engines->run_on_all(
        [g, stream, role](sfu::Engine& engine) {
          const auto list = engine.sessions(Clock::now());
          std::lock_guard lock(g->mutex);
          for (const auto& s : list) {
            if (!stream.empty() && s.stream != stream) continue;
            if (!role.empty() && (role == "publisher") != s.publisher) continue;
            g->sessions.push_back(session_json(s, engine.worker_index()));
          }
        },
        [g, req, respond] {
          respond(json_reply(req, Status::ok, json{{"sessions", std::move(g->sessions)}}));
        });
  }

  void end_stream(const Request& req, const std::string& name, Responder respond) const {
    auto opts = options;
    engines->run_for_stream(name, [req, name, respond, opts](sfu::Engine& engine) {
      std::string ended;
      for (const auto& st : engine.streams()) {
        if (st.name == name && engine.end_session(name, st.session_id, true, kEndedReason))
          ended = st.session_id;
      }
      if (ended.empty()) {
        return respond(error_reply(req, Status::not_found, "stream '" + name + "' is not live"));
      }
      spdlog::info("admin: stream '{}' ended", name);
      notify(opts, name, ended, true);
      respond(json_reply(req, Status::ok,
                         json{{"stream", name}, {"session_id", ended}, {"role", "publisher"}}));
    });
  }

  void end_session(const Request& req, const std::string& id, Responder respond) const {
    struct Found {
      std::mutex mutex;
      std::optional<sfu::Engine::SessionRef> ref;
    };
    auto found = std::make_shared<Found>();
    auto opts = options;
    engines->run_on_all(
        [found, id](sfu::Engine& engine) {
          auto ref = engine.find_session(id);
          if (!ref || !engine.end_session(ref->stream, id, ref->publisher, kEndedReason)) return;
          std::lock_guard lock(found->mutex);
          found->ref = std::move(ref);
        },
        [found, id, req, respond, opts] {
          if (!found->ref) return respond(error_reply(req, Status::not_found, "unknown session"));
          spdlog::info("admin: {} session {} of stream '{}' ended",
                       found->ref->publisher ? "publisher" : "viewer", id, found->ref->stream);
          notify(opts, found->ref->stream, id, found->ref->publisher);
          respond(json_reply(req, Status::ok,
                             json{{"stream", found->ref->stream},
                                  {"session_id", id},
                                  {"role", found->ref->publisher ? "publisher" : "viewer"}}));
        });
  }

  static void notify(const AdminApiOptions& opts, const std::string& stream, const std::string& id,
                     bool publisher) {
    if (!opts.on_ended) return;
    if (opts.post_to_control) {
      opts.post_to_control(
          [f = opts.on_ended, stream, id, publisher] { f(stream, id, publisher); });
    } else {
      opts.on_ended(stream, id, publisher);
    }
  }
};

}  // namespace

void register_admin_api(http::Router& router, EngineRouter& engines, AdminApiOptions options) {
  auto h = std::make_shared<Handlers>(Handlers{&engines, std::move(options)});
  router.add(std::string(kPrefix),
             [h](const Request& req, const RequestContext& ctx, Responder respond) {
               h->handle(req, ctx, std::move(respond));
             });
}

}  // namespace lss::signal
