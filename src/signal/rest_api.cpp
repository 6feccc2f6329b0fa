#include "signal/rest_api.hpp"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

namespace lss::signal {
namespace bhttp = boost::beast::http;
using http::Request;
using http::RequestContext;
using http::Responder;
using http::Status;
using json = nlohmann::json;

namespace {

http::Response json_reply(const Request& req, Status status, const json& body) {
  auto res = http::make_response(req, status, body.dump(), "application/json");
  res.set(bhttp::field::access_control_allow_origin, "*");
  return res;
}

http::Response error_reply(const Request& req, Status status, const std::string& message) {
  return json_reply(req, status, json{{"error", message}});
}

catalog::Page page_of(const Request& req) {
  catalog::Page p;
  const std::string limit = http::query_param(req.target(), "limit");
  const std::string offset = http::query_param(req.target(), "offset");
  if (!limit.empty()) p.limit = std::clamp(std::atoi(limit.c_str()), 1, 500);
  if (!offset.empty()) p.offset = std::max(0, std::atoi(offset.c_str()));
  return p;
}

json live_json(const sfu::StreamInfo& s) {
  return {{"id", s.session_id},
          {"name", s.name},
          {"status", "live"},
          {"started_at", s.started_at},
          {"ended_at", nullptr},
          {"viewers", s.viewers},
          {"video_codec", s.video_codec},
          {"audio_codec", s.audio_codec},
          {"bitrate_bps", s.bitrate_bps}};
}

// A live stream and, in a cluster, the node it is on.
struct Live {
  sfu::StreamInfo info;
  std::string node, node_url;  // empty: no cluster
};

json live_json(const Live& l) {
  json j = live_json(l.info);
  if (!l.node.empty()) {
    j["node"] = l.node;
    j["node_url"] = l.node_url;
  }
  return j;
}

// What a live stream adds to its catalog row.
void add_live(json& j, const Live& l) {
  j["viewers"] = l.info.viewers;
  j["bitrate_bps"] = l.info.bitrate_bps;
  if (!l.node.empty()) {
    j["node"] = l.node;
    j["node_url"] = l.node_url;
  }
}

struct Api {
  EngineRouter* engines;
  ControlRunner run_on_control;
  catalog::Catalog* catalog;
  ClusterStreams cluster;

  // Collects the live streams of every worker (and, in a cluster, of the
  // other nodes), by session id, then finishes on the control thread.
  void with_live(std::function<void(std::map<std::string, Live>)> then) const {
    struct Gathered {
      std::mutex mutex;  // workers add their streams concurrently
      std::map<std::string, Live> live;
    };
    auto g = std::make_shared<Gathered>();
    engines->run_on_all(
        [g](sfu::Engine& engine) {
          auto streams = engine.streams(Clock::now());
          std::lock_guard lock(g->mutex);
          for (auto& s : streams) {
            const std::string id = s.session_id;
            g->live[id] = Live{std::move(s), {}, {}};
          }
        },
        [g, then, view = cluster.view] {
          if (view) {
            auto v = view();
            for (auto& [id, l] : g->live) {
              l.node = v.node;
              l.node_url = v.node_url;
            }
            // A stream this node has is shown as this node sees it now.
            for (auto& r : v.others) {
              const std::string id = r.info.session_id;
              g->live.try_emplace(
                  id, Live{std::move(r.info), std::move(r.node), std::move(r.node_url)});
            }
            // The whole audience: the owner's viewers but its relaying
            // nodes' pulls, and those nodes' own viewers.
            for (auto& [id, l] : g->live) {
              auto r = v.relayed.find(l.info.name);
              if (r == v.relayed.end()) continue;
              const size_t pulls = std::min<size_t>(l.info.viewers, r->second.relays);
              l.info.viewers = l.info.viewers - pulls + r->second.viewers;
            }
          }
          then(std::move(g->live));
        });
  }

  void streams(const Request& req, Responder respond) const {
    const std::string status = http::query_param(req.target(), "status");
    if (!status.empty() && status != "live" && status != "ended") {
      return respond(error_reply(req, Status::bad_request, "status must be live or ended"));
    }
    const catalog::Page page = page_of(req);
    with_live([this, req, respond, status, page](std::map<std::string, Live> live) {
      json list = json::array();
      if (!catalog || status == "live") {
        // Live streams come from the engine, which knows viewer counts.
        for (const auto& [id, s] : live) list.push_back(live_json(s));
      } else {
        auto rows = catalog->list_streams(page, status);
        if (!rows.ok())
          return respond(error_reply(req, Status::internal_server_error, rows.error().message));
        for (const auto& r : *rows) {
          json j = catalog::to_json(r);
          if (auto it = live.find(r.id); it != live.end()) add_live(j, it->second);
          list.push_back(std::move(j));
        }
      }
      respond(json_reply(req, Status::ok,
                         json{{"streams", list}, {"limit", page.limit}, {"offset", page.offset}}));
    });
  }

  void stream(const Request& req, const std::string& id, Responder respond) const {
    with_live([this, req, respond, id](std::map<std::string, Live> live) {
      json out;
      if (catalog) {
        auto row = catalog->get_stream(id);
        if (!row.ok())
          return respond(error_reply(req, Status::internal_server_error, row.error().message));
        if (*row) out = catalog::to_json(**row);
      }
      auto it = live.find(id);
      if (it != live.end()) {
        if (out.is_null()) out = live_json(it->second);
        add_live(out, it->second);
      }
      if (out.is_null()) return respond(error_reply(req, Status::not_found, "unknown stream id"));
      json clips = json::array();
      if (catalog) {
        auto rows = catalog->list_clips(id, "", {500, 0});
        if (rows.ok()) {
          for (const auto& c : *rows) clips.push_back(catalog::to_json(c));
        }
      }
      out["clips"] = clips;
      respond(json_reply(req, Status::ok, out));
    });
  }

  void clips(const Request& req, Responder respond) const {
    if (!catalog) return respond(json_reply(req, Status::ok, json{{"clips", json::array()}}));
    const std::string stream = http::query_param(req.target(), "stream");
    const std::string since = http::query_param(req.target(), "since");
    const catalog::Page page = page_of(req);
    run_on_control([this, req, respond, stream, since, page] {
      auto rows = catalog->list_clips(stream, since, page);
      if (!rows.ok())
        return respond(error_reply(req, Status::internal_server_error, rows.error().message));
      json list = json::array();
      for (const auto& c : *rows) list.push_back(catalog::to_json(c));
      respond(json_reply(req, Status::ok,
                         json{{"clips", list}, {"limit", page.limit}, {"offset", page.offset}}));
    });
  }
};

bool only_get(const Request& req, Responder& respond) {
  if (req.method() == http::Verb::get || req.method() == http::Verb::head) return true;
  auto res = error_reply(req, Status::method_not_allowed, "use GET");
  res.set(bhttp::field::allow, "GET");
  respond(std::move(res));
  return false;
}

}  // namespace

void register_rest_api(http::Router& router, EngineRouter& engines, ControlRunner run_on_control,
                       catalog::Catalog* catalog, ClusterStreams cluster) {
  auto api =
      std::make_shared<Api>(Api{&engines, std::move(run_on_control), catalog, std::move(cluster)});
  router.add("/api/streams/", [api](const Request& req, const RequestContext&, Responder respond) {
    if (!only_get(req, respond)) return;
    const std::string path(http::target_path(req.target()));
    std::string id = path.size() > 13 ? path.substr(13) : "";
    if (id.empty()) return api->streams(req, std::move(respond));
    if (id.size() > 64 || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return respond(error_reply(req, Status::not_found, "unknown stream id"));
    }
    api->stream(req, id, std::move(respond));
  });
  router.add("/api/clips", [api](const Request& req, const RequestContext&, Responder respond) {
    if (!only_get(req, respond)) return;
    api->clips(req, std::move(respond));
  });
}

}  // namespace lss::signal
