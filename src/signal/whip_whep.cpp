#include "signal/whip_whep.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/log_throttle.hpp"
#include "common/random.hpp"
#include "http/client_key.hpp"
#include "http/connection_limiter.hpp"
#include "sdp/sdp_fragment.hpp"
#include "sdp/session_description.hpp"
#include "signal/publish_auth.hpp"
#include "signal/whip_patch.hpp"

namespace lss::signal {
namespace bhttp = boost::beast::http;
using http::Request;
using http::RequestContext;
using http::Responder;
using http::Response;
using http::Status;
using http::Verb;

namespace {

enum class Kind { kWhip, kWhep };

void add_cors(Response& res) {
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set(bhttp::field::access_control_expose_headers, "Location, Link, ETag");
}

Response reply(const Request& req, Status status, std::string body,
               std::string type = "text/plain; charset=utf-8") {
  if (!body.empty() && body.back() != '\n') body += '\n';
  auto res = http::make_response(req, status, std::move(body), std::move(type));
  add_cors(res);
  return res;
}

// 307 (the method and the offer stay) to `path` on another node, an
// absolute URL with the request's query kept (RFC 9725 §4.5).
Response redirect(const Request& req, std::string base, const std::string& path,
                  const std::string& why) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string url = base + path;
  const std::string_view target = req.target();
  if (const size_t q = target.find('?'); q != std::string_view::npos) url += target.substr(q);
  auto res = reply(req, Status::temporary_redirect, why);
  res.set(bhttp::field::location, url);
  return res;
}

// CLUSTER_VIEWERS=redirect: to the WHEP URL of the node that has the stream.
Response redirect_to_owner(const Request& req, const std::string& name, const StreamClaim& c) {
  return redirect(req, c.owner_url, "/whep/" + name,
                  "stream '" + name + "' is on node '" + c.owner + "'");
}

// "/whip/<name>" or "/whip/<name>/<session>" -> parts; false on anything else.
bool split_path(std::string_view path, std::string_view prefix, std::string& name,
                std::string& session) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  path.remove_prefix(prefix.size());
  const size_t slash = path.find('/');
  name = std::string(path.substr(0, slash));
  session = slash == std::string_view::npos ? std::string() : std::string(path.substr(slash + 1));
  return true;
}

bool is_content_type(const Request& req, std::string_view type) {
  std::string_view ct = req[bhttp::field::content_type];
  const size_t semi = ct.find(';');
  ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  if (ct.size() != type.size()) return false;
  for (size_t i = 0; i < ct.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(ct[i])) != type[i]) return false;
  return true;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Handlers {
  EngineRouter* engines;
  WhipWhepOptions options;
  std::shared_ptr<http::RateLimiter> limiter;  // control thread
  // Open sessions per address (SESSIONS_PER_IP); slots are given back on
  // the media workers, refusals counted and logged here.
  struct Sessions {
    explicit Sessions(size_t per_address) : limiter(per_address) {}
    http::ConnectionLimiter limiter;
    http::ConnectionLimiter::Refusals refusals{
        .who = "whip/whep", .what = "sessions", .setting = "SESSIONS_PER_IP", .one = "a session"};
  };
  std::shared_ptr<Sessions> sessions;
  // A flood of requests over SESSION_RATE is one line per 10 s, not one a request.
  std::shared_ptr<LogThrottle> rate_log = std::make_shared<LogThrottle>(std::chrono::seconds(10));

  // RFC 9725 §4.6: one Link per ICE server; TURN credentials for `user`.
  void add_ice_server_links(Response& res, std::string_view user) const {
    for (const auto& link : ice_server_links(options.ice_servers, user, unix_now())) {
      res.insert(bhttp::field::link, link);
    }
  }

  bool authorized(const Request& req, const RequestContext& ctx, Responder& respond) const {
    const auto decision = authorize_publish(
        options.stream_key, bearer_token(req[bhttp::field::authorization]), ctx.remote);
    if (decision == AuthDecision::kAllowed) return true;
    const char* why = decision == AuthDecision::kMissingKey
                          ? "missing stream key (Authorization: Bearer)"
                      : decision == AuthDecision::kWrongKey
                          ? "wrong stream key"
                          : "publishing without STREAM_KEY is allowed from loopback only";
    spdlog::warn("whip: {} refused: {}", ctx.remote.to_string(), why);
    auto res = reply(req, Status::unauthorized, why);
    res.set(bhttp::field::www_authenticate, "Bearer");
    respond(std::move(res));
    return false;
  }

  void handle(Kind kind, const Request& req, const RequestContext& ctx, Responder respond) const {
    const std::string_view prefix = kind == Kind::kWhip ? "/whip/" : "/whep/";
    std::string name, session;
    if (!split_path(http::target_path(req.target()), prefix, name, session)) {
      return respond(reply(req, Status::not_found, "not found"));
    }
    if (!valid_stream_name(name)) {
      return respond(reply(req, Status::bad_request,
                           "invalid stream name: use 1 to 64 characters of A-Z a-z 0-9 _ -"));
    }
    if (req.method() == Verb::options) {
      auto res = reply(req, Status::no_content, "");
      res.set(bhttp::field::access_control_allow_methods, "POST, PATCH, DELETE, OPTIONS");
      res.set(bhttp::field::access_control_allow_headers, "Authorization, Content-Type, If-Match");
      res.set(bhttp::field::access_control_max_age, "86400");
      res.set("Accept-Post", "application/sdp");
      // ICE servers for a client that asks before making its offer (a
      // non-trickle client needs TURN before it gathers); not on CORS
      // preflights, whose headers no script reads, and TURN credentials
      // only for whoever may use the endpoint: anyone may watch, publishing
      // needs the key (WHIP clients send it on OPTIONS too).
      const bool preflight = req.find(bhttp::field::access_control_request_method) != req.end();
      const bool may_use =
          kind == Kind::kWhep ||
          authorize_publish(options.stream_key, bearer_token(req[bhttp::field::authorization]),
                            ctx.remote) == AuthDecision::kAllowed;
      if (session.empty() && !preflight && may_use) add_ice_server_links(res, random_hex(6));
      res.body().clear();
      res.prepare_payload();
      return respond(std::move(res));
    }
    if (session.empty()) {
      if (req.method() != Verb::post) {
        auto res = reply(req, Status::method_not_allowed, "use POST with an SDP offer");
        res.set(bhttp::field::allow, "POST, OPTIONS");
        return respond(std::move(res));
      }
      return create(kind, name, req, ctx, std::move(respond));
    }
    if (session.find('/') != std::string::npos || session.size() > 64) {
      return respond(reply(req, Status::not_found, "unknown session"));
    }
    if (kind == Kind::kWhip && !authorized(req, ctx, respond)) return;
    if (req.method() == Verb::delete_) {
      const bool publisher = kind == Kind::kWhip;
      return engines->run_for_session(
          name, session, [req, name, session, publisher, respond](sfu::Engine& engine) {
            const bool ok = engine.end_session(name, session, publisher);
            respond(ok ? reply(req, Status::ok, "")
                       : reply(req, Status::not_found, "unknown session"));
          });
    }
    if (req.method() == Verb::patch) return patch(kind, name, session, req, std::move(respond));
    auto res = reply(req, Status::method_not_allowed, "use PATCH or DELETE on a session");
    res.set(bhttp::field::allow, "PATCH, DELETE, OPTIONS");
    respond(std::move(res));
  }

  // Trickle ICE and ICE restart (RFC 9725 §4.3). The request is read here;
  // the session's worker (by its id's prefix) decides, in the order of
  // decide_patch (404 first), and restarts ICE on the peer it owns.
  void patch(Kind kind, const std::string& name, const std::string& session, const Request& req,
             Responder respond) const {
    auto p = std::make_shared<PatchRequest>();
    p->content_type_ok = is_content_type(req, kSdpFragType);
    if (auto im = req.find(bhttp::field::if_match); im != req.end()) {
      p->if_match = std::string(im->value());
    }
    if (p->content_type_ok) {
      auto frag = sdp::parse_sdp_fragment(req.body());
      if (frag.ok()) {
        p->fragment = std::move(frag.value());
      } else {
        p->parse_error = frag.error().message;
      }
    }
    const bool publisher = kind == Kind::kWhip;
    engines->run_for_session(
        name, session, [req, name, session, publisher, p, respond](sfu::Engine& engine) {
          const auto d = decide_patch(*p, engine.session_ice(name, session, publisher));
          using Action = PatchDecision::Action;
          if (d.action == Action::kRefuse) return respond(reply(req, Status(d.status), d.reason));
          if (d.action == Action::kTrickle) {
            auto res = reply(req, Status::no_content, "");
            res.body().clear();
            res.prepare_payload();
            return respond(std::move(res));
          }
          auto r = engine.restart_ice(name, session, publisher, *p->fragment->ufrag());
          if (auto* f = std::get_if<sfu::Failure>(&r)) {
            return respond(reply(req, Status(f->status), f->reason));
          }
          const auto& restarted = std::get<sfu::IceRestarted>(r);
          auto res = reply(req, Status::ok, restart_answer_fragment(*p->fragment, restarted.local),
                           std::string(kSdpFragType));
          res.set(bhttp::field::etag, restarted.etag);
          respond(std::move(res));
        });
  }

  void create(Kind kind, const std::string& name, const Request& req, const RequestContext& ctx,
              Responder respond) const {
    // Another node's pull of a stream of ours (its CLUSTER_SECRET): it
    // carries a whole node's viewers, so no per-address limit applies.
    const bool from_node =
        kind == Kind::kWhep && !options.cluster_secret.empty() &&
        keys_equal(options.cluster_secret, bearer_token(req[bhttp::field::authorization]));
    // Before anything costly, the stream key check included (no guessing at speed).
    if (!ctx.remote.is_loopback() && !from_node) {
      if (auto wait = limiter->admit(http::client_key(ctx.remote), Clock::now())) {
        const auto secs =
            std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(*wait).count());
        if (const auto n = rate_log->admit(Clock::now())) {
          spdlog::warn(
              "{}: {} over SESSION_RATE: 429 ({} refused over SESSION_RATE since the "
              "last such line)",
              kind == Kind::kWhip ? "whip" : "whep", ctx.remote.to_string(), *n);
        }
        auto res = reply(
            req, Status::too_many_requests,
            "too many session requests from your address: retry in " + std::to_string(secs) + " s");
        res.set(bhttp::field::retry_after, std::to_string(secs));
        return respond(std::move(res));
      }
    }
    if (kind == Kind::kWhip && !authorized(req, ctx, respond)) return;
    if (kind == Kind::kWhip && options.place_publisher) {
      if (const std::string elsewhere = options.place_publisher(); !elsewhere.empty()) {
        spdlog::info("whip: publisher of '{}' sent to {} (this node is over its load)", name,
                     elsewhere);
        return respond(redirect(req, elsewhere, "/whip/" + name,
                                "this node is full: publish at " + elsewhere));
      }
    }
    if (!is_content_type(req, "application/sdp")) {
      return respond(reply(req, Status::unsupported_media_type,
                           "the offer must be sent with Content-Type: application/sdp"));
    }
    auto offer = sdp::parse_sdp(req.body());
    if (!offer.ok()) {
      spdlog::info("{}: malformed SDP from {}: {}", kind == Kind::kWhip ? "whip" : "whep",
                   ctx.remote.to_string(), offer.error().message);
      return respond(
          reply(req, Status::bad_request, "malformed SDP offer: " + offer.error().message));
    }
    // WHEP ?maxLayer=N: a small player's ceiling, the N-th slowest
    // simulcast layer (0: the smallest).
    int max_layer = -1;
    if (const std::string v = http::query_param(req.target(), "maxLayer");
        kind == Kind::kWhep && !v.empty()) {
      if (v.size() > 2 || v.find_first_not_of("0123456789") != std::string::npos) {
        return respond(reply(req, Status::bad_request,
                             "maxLayer must be a layer rank: 0 for the smallest, 1, 2"));
      }
      max_layer = std::stoi(v);
    }
    // One more open session of this address (loopback not counted):
    // refused before a worker spends anything on it. The slot goes with
    // the session and comes back when its peer goes.
    auto slot = from_node
                    ? std::optional<http::ConnectionLimiter::Slot>(http::ConnectionLimiter::Slot{})
                    : sessions->limiter.admit(ctx.remote, sessions->refusals);
    if (!slot) {
      auto res = reply(req, Status::too_many_requests,
                       "your address has " + std::to_string(sessions->limiter.per_address()) +
                           " sessions open, the most allowed: end one, or retry later");
      res.set(bhttp::field::retry_after, "10");
      return respond(std::move(res));
    }
    std::shared_ptr<void> hold = std::make_shared<http::ConnectionLimiter::Slot>(std::move(*slot));
    auto shared_offer = std::make_shared<sdp::SessionDescription>(std::move(offer.value()));
    const std::string location_prefix = (kind == Kind::kWhip ? "/whip/" : "/whep/") + name + "/";
    // The publisher's or the viewer's address.
    const std::string remote = ctx.remote.to_string();
    const Handlers* self = this;  // lives as long as the router
    StreamClaims* claims = kind == Kind::kWhip ? options.claims : nullptr;
    // Cluster mode: a viewer of a stream live on another node is served
    // from a pull of it (relay), or sent there (redirect). Never for another
    // node's own pull: it asks the owner, and the owner it thinks it is.
    StreamClaims* locate =
        kind == Kind::kWhep && !from_node && (options.redirect_viewers || options.relays)
            ? options.claims
            : nullptr;
    StreamRelays* relays = options.relays;
    EngineRouter* router = engines;
    // `job` runs the session on its engine; a viewer's 404 there, once the
    // stream is found on another node, pulls it and runs `job` again (the
    // second time without looking further).
    auto job = std::make_shared<std::function<void(sfu::Engine&, bool)>>();
    *job = [self, req, kind, name, shared_offer, location_prefix, remote, max_layer, hold, respond,
            claims, locate, relays, router,
            weak = std::weak_ptr(job)](sfu::Engine& engine, bool look_elsewhere) {
      const auto now = Clock::now();
      auto result = kind == Kind::kWhip
                        ? engine.publish(name, *shared_offer, now, remote, hold)
                        : engine.subscribe(name, *shared_offer, now, remote, max_layer, hold);
      if (claims) claims->settle(name, std::holds_alternative<sfu::SessionCreated>(result));
      auto* f = std::get_if<sfu::Failure>(&result);
      if (f && f->status == 404 && locate && look_elsewhere) {
        auto again = weak.lock();
        return locate->locate(name, [req, respond, name, relays, router, again,
                                     not_here = f->reason](const StreamClaim& c) {
          if (c.outcome != StreamClaim::Outcome::kElsewhere || c.owner_url.empty())
            return respond(reply(req, Status::not_found, not_here));
          if (!relays || !again) return respond(redirect_to_owner(req, name, c));
          relays->pull(
              name, c.owner_url, [req, respond, name, c, router, again](const std::string& error) {
                if (!error.empty()) {
                  spdlog::info("whep: no relay of '{}' from {} ({}): the viewer is sent there",
                               name, c.owner_url, error);
                  return respond(redirect_to_owner(req, name, c));
                }
                router->run_for_viewer(name, [again](sfu::Engine& e) { (*again)(e, false); });
              });
        });
      }
      if (f) {
        auto res = reply(req, Status(f->status), f->reason);
        // A limit: full now, perhaps not in a moment.
        if (f->status == 503) res.set(bhttp::field::retry_after, "5");
        return respond(std::move(res));
      }
      auto& created = std::get<sfu::SessionCreated>(result);
      auto res = reply(req, Status::created, created.answer_sdp, "application/sdp");
      res.set(bhttp::field::location, location_prefix + created.session_id);
      if (!created.etag.empty()) res.set(bhttp::field::etag, created.etag);
      self->add_ice_server_links(res, created.session_id);
      respond(std::move(res));
    };
    if (kind == Kind::kWhip && claims) {
      // The cluster first: a name live on another node is refused here.
      claims->claim(name, [engines = engines, name, req, respond, job](const StreamClaim& c) {
        if (c.outcome == StreamClaim::Outcome::kElsewhere) {
          return respond(reply(req, Status::conflict, live_elsewhere_reason(name, c)));
        }
        engines->run_for_new_stream(name, [job](sfu::Engine& e) { (*job)(e, true); });
      });
    } else if (kind == Kind::kWhip) {
      engines->run_for_new_stream(name, [job](sfu::Engine& e) { (*job)(e, true); });
    } else {
      engines->run_for_viewer(name, [job](sfu::Engine& e) { (*job)(e, true); });
    }
  }
};

}  // namespace

void register_whip_whep(http::Router& router, EngineRouter& engines, WhipWhepOptions options) {
  auto limiter = std::make_shared<http::RateLimiter>(options.session_rate);
  auto sessions = std::make_shared<Handlers::Sessions>(options.sessions_per_ip);
  auto h = std::make_shared<Handlers>(
      Handlers{&engines, std::move(options), std::move(limiter), std::move(sessions)});
  router.add("/whip/", [h](const Request& req, const RequestContext& ctx, Responder respond) {
    h->handle(Kind::kWhip, req, ctx, std::move(respond));
  });
  router.add("/whep/", [h](const Request& req, const RequestContext& ctx, Responder respond) {
    h->handle(Kind::kWhep, req, ctx, std::move(respond));
  });
}

}  // namespace lss::signal
