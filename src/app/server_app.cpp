#include "app/server_app.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "app/cluster_api.hpp"
#include "app/cluster_events.hpp"
#include "app/cluster_node.hpp"
#include "app/cluster_relays.hpp"
#include "app/cluster_streams.hpp"
#include "app/config_reload.hpp"
#include "app/fd_limit.hpp"
#include "app/graceful_shutdown.hpp"
#include "app/hls_api.hpp"
#include "app/https_setup.hpp"
#include "app/metrics_api.hpp"
#include "app/stats_api.hpp"
#include "app/stun_discovery.hpp"
#include "app/watch_page.hpp"
#include "app/webhook_events.hpp"
#include "app/worker_pool.hpp"
#include "catalog/ip_whitelist.hpp"
#include "catalog/mongo_catalog.hpp"
#include "catalog/mongo_mapping.hpp"
#include "catalog/postgres_catalog.hpp"
#include "catalog/sqlite_catalog.hpp"
#include "common/iso8601.hpp"
#include "common/socket_address.hpp"
#include "dtls/dtls_certificate.hpp"
#include "http/http_server.hpp"
#include "http/router.hpp"
#include "http/static_files.hpp"
#include "net/host_addresses.hpp"
#include "net/media_worker.hpp"
#include "record/recording_service.hpp"
#include "sfu/engine.hpp"
#include "signal/admin_api.hpp"
#include "signal/peerjs_gateway.hpp"
#include "signal/rest_api.hpp"
#include "signal/socketio_server.hpp"
#include "signal/whip_whep.hpp"
#include "storage/local_dir_store.hpp"
#include "storage/s3_store.hpp"
#include "storage/uploader.hpp"

namespace lss {
namespace asio = boost::asio;

struct ServerApp::Impl {
  explicit Impl(Config c) : config(std::move(c)), http(io, router, http_server_limits(config)) {}

  Config config;
  asio::io_context io;  // the control thread
  http::Router router;
  http::HttpServer http;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<storage::ObjectStore> store;
  std::unique_ptr<webhook::Webhooks> webhooks;  // maybe without receivers; outlives the uploader
  std::unique_ptr<storage::Uploader> uploader;
  std::unique_ptr<record::RecordingService> recording;
  std::unique_ptr<signal::SocketIoServer> socketio;  // control thread
  std::unique_ptr<signal::PeerJsGateway> peerjs;     // control thread; null without PEER_HOST
  std::unique_ptr<WorkerPool> workers;               // media workers and their engines
};

namespace {
void log_fd_limit(const Result<FdLimit>& fds, size_t max_connections) {
  if (!fds.ok()) return spdlog::warn("open files limit unchanged: {}", fds.error().message);
  if (fds->now != fds->before) {
    spdlog::info("open files limit raised from {} to {} (RLIMIT_NOFILE)", fds->before, fds->now);
  } else {
    spdlog::info("open files limit: {} (RLIMIT_NOFILE)", fds->now);
  }
  if (fds->now != RLIM_INFINITY && fds->now < max_connections) {
    spdlog::warn(
        "HTTP_MAX_CONNECTIONS ({}) is above the open files limit ({}): accepts will fail (and "
        "wait) before it is reached",
        max_connections, fds->now);
  }
}
}  // namespace

ServerApp::ServerApp(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
ServerApp::~ServerApp() = default;

int ServerApp::run() {
  Impl& s = *impl_;
  std::signal(SIGHUP, SIG_IGN);  // never fatal; reloads the certificate once the server runs
  log_fd_limit(raise_fd_limit(), s.config.http_max_connections);
  auto cert = DtlsCertificate::generate();
  if (!cert.ok()) {
    spdlog::critical("cannot create the DTLS certificate: {}", cert.error().message);
    return 1;
  }
  sfu::EngineOptions opts;
  opts.max_streams = s.config.max_streams;
  opts.max_viewers_per_stream = s.config.max_viewers_per_stream;
  opts.max_peers = s.config.max_peers_per_worker;
  // PUBLIC_IP's addresses, else the host's (IPv4, 127.0.0.1, then IPv6);
  // PUBLIC_IP=auto adds the STUN-mapped one once the media sockets exist.
  auto ips = s.config.public_ips.empty() ? net::host_candidate_addresses() : s.config.public_ips;
  opts.consent_timeout = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(s.config.consent_timeout_s));
  std::error_code ec;
  std::filesystem::create_directories(s.config.data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create DATA_DIR {}: {}", s.config.data_dir, ec.message());
    return 1;
  }
  if (!s.config.database_url.empty()) {
    auto cat = catalog::PostgresCatalog::open(s.config.database_url);
    if (!cat.ok()) {
      spdlog::critical("{}", cat.error().message);
      return 1;
    }
    s.catalog = std::move(cat.value());
  } else if (const std::string url =
                 catalog::mongo_url(s.config.mongo_url, s.config.mongo_user,
                                    s.config.mongo_password, s.config.mongo_host);
             !url.empty()) {
    // The seed's order: whitelist this host (unless ENVIRONMENT=dev), then connect.
    if (s.config.environment != "dev" && !s.config.whitelist_url.empty()) {
      if (auto st = catalog::request_ip_whitelist(s.config.whitelist_url, s.config.whitelist_key);
          !st) {
        spdlog::warn("{} (continuing; MongoDB may refuse the connection)", st.message());
      }
    }
    auto cat = catalog::MongoCatalog::open(
        {url, s.config.mongo_db, s.config.mongo_streams, s.config.mongo_clips});
    if (!cat.ok()) {
      spdlog::critical("{} (check MONGO_URL or MONGO_USER/MONGO_PASSWORD/MONGO_HOST)",
                       cat.error().message);
      return 1;
    }
    s.catalog = std::move(cat.value());
  } else {
    auto cat = catalog::SqliteCatalog::open(s.config.data_dir + "/catalog.sqlite");
    if (!cat.ok()) {
      spdlog::critical("{} (set DATA_DIR)", cat.error().message);
      return 1;
    }
    s.catalog = std::move(cat.value());
  }
  // Failed writes are counted for /metrics, whichever the backend.
  auto counting = std::make_unique<catalog::CountingCatalog>(std::move(s.catalog));
  const catalog::CountingCatalog& catalog_counts = *counting;
  s.catalog = std::move(counting);
  auto hooks_opened = open_webhooks(s.config);  // resumes the queues a previous run left
  if (!hooks_opened.ok()) {
    spdlog::critical("{} (set DATA_DIR)", hooks_opened.error().message);
    return 1;
  }
  s.webhooks = std::move(hooks_opened.value());
  webhook::Webhooks* hooks = s.webhooks.get();
  std::vector<std::string> crash_live;  // their stream.ended never went out
  if (auto live = s.catalog->list_streams({500, 0}, "live"); hooks && live.ok()) {
    for (const auto& r : *live) crash_live.push_back(r.id);
  }
  (void)s.catalog->end_all_live(iso8601_utc());  // left "live" by a crash
  if (hooks) {
    publish_crash_ended(*hooks, *s.catalog, crash_live);
    hooks->start();
  }
  const std::string spool = s.config.data_dir + "/spool";
  const std::string recordings = s.config.data_dir + "/recordings";
  if (s.config.s3_endpoint.empty()) {
    s.store = std::make_unique<storage::LocalDirStore>(recordings, s.config.file_host);
  } else {
    storage::S3Options o;
    o.endpoint = s.config.s3_endpoint;
    o.bucket = s.config.s3_bucket;
    o.region = s.config.region;
    o.access_key_id = s.config.s3_access_id;
    o.secret_access_key = s.config.s3_secret;
    o.path_style = s.config.s3_path_style;
    o.file_host = s.config.file_host;
    o.multipart_threshold = uint64_t(s.config.s3_multipart_mb * 1024 * 1024);
    o.part_size = uint64_t(s.config.s3_part_mb * 1024 * 1024);
    if (s.config.s3_part_mb < 5)
      spdlog::warn("S3_PART_MB below 5: real S3 refuses parts this small");
    s.store = std::make_unique<storage::S3Store>(o);
  }
  signal::SocketIoServer::Options sio_options;
  sio_options.stream_key = s.config.stream_key;
  sio_options.max_payload = s.config.ws_max_message_bytes;
  sio_options.connections_per_address = s.config.socketio_connections_per_ip;
  sio_options.max_pending_acks = s.config.socketio_max_pending_acks;
  sio_options.max_queued_bytes = s.config.socketio_max_queued_bytes;
  s.socketio = std::make_unique<signal::SocketIoServer>(s.io, std::move(sio_options));
  signal::SocketIoServer* sio = s.socketio.get();
  // Cluster mode (REDIS_URL): made before the front ends (they claim
  // stream names through it), started once the ports are known.
  std::unique_ptr<ClusterNode> cluster_node;
  std::unique_ptr<ClusterEvents> cluster_events;
  std::unique_ptr<ClusterRelays> cluster_relays;  // CLUSTER_VIEWERS=relay
  // The app's events (Socket.IO): to this node's apps and, in a cluster,
  // to every other node's. Control thread.
  const auto tell_app = [sio, events = &cluster_events](const std::string& event,
                                                        const nlohmann::json& data) {
    sio->broadcast(event, data);
    if (*events) (*events)->publish(event, data);
  };
  asio::io_context* control_io = &s.io;
  s.uploader = std::make_unique<storage::Uploader>(
      spool, *s.store, *s.catalog, [tell_app, control_io, hooks](const catalog::ClipRecord& c) {
        spdlog::info("clip {} of '{}' is available at {}", c.index, c.stream_name, c.url);
        if (hooks) publish_clip_stored(*hooks, c);
        // Tell the app (Socket.IO `clip`), from the control thread.
        asio::post(*control_io, [tell_app, c] {
          nlohmann::json j = catalog::to_json(c);
          j["streamId"] = c.stream_name;
          tell_app("clip", j);
        });
      });
  if (hooks) {
    s.uploader->set_on_failed(
        [hooks](const catalog::ClipRecord& c, const std::string& error, int attempt) {
          publish_upload_failed(*hooks, c, error, attempt);
        });
  }
  s.uploader->start();
  const std::string catalog_name = !s.config.database_url.empty() ? std::string("PostgreSQL")
                                   : !s.config.mongo_url.empty() || !s.config.mongo_host.empty()
                                       ? std::string("MongoDB")
                                       : s.config.data_dir + "/catalog.sqlite";
  spdlog::info("clips stored in {}, catalog in {}", s.store->describe(), catalog_name);

  // LL-HLS (HLS=true) is fed by the recording thread, which depacketizes
  // every stream anyway: with RECORD_STREAMS=false it runs for HLS alone
  // and writes no clips.
  std::unique_ptr<HlsService> hls;
  if (s.config.hls) {
    HlsSettings hs;
    hs.stream.part_target_ms = s.config.hls_part_ms;
    hs.stream.segment_target_ms = s.config.hls_segment_ms;
    hls = std::make_unique<HlsService>(s.io, hs);
  }
  if (s.config.record_streams || hls) {
    record::ClipLimits limits;
    limits.max_bytes = uint64_t(s.config.clip_size_mb * 1'000'000.0);
    limits.max_duration_ms = int64_t(s.config.clip_length_s * 1000.0);
    storage::Uploader* up = s.uploader.get();
    s.recording = std::make_unique<record::RecordingService>(
        spool, limits, [up](const record::ClipInfo&) { up->notify(); });
    record::RecordingService* rec = s.recording.get();
    opts.start_recording = [rec, hls = hls.get(), clips = s.config.record_streams](
                               const std::string& name, const std::string& id,
                               const std::vector<sfu::PublishedTrack>& tracks) {
      std::vector<record::RecordedTrack> rt;
      for (const auto& t : tracks) {
        rt.push_back({t.video, t.negotiated.codec.name, t.negotiated.codec.clock_rate});
      }
      auto tap = hls ? hls->open(name, rt) : nullptr;
      return rec->start(name, id, std::move(rt), std::move(tap), clips);
    };
  }
  if (s.config.record_streams) {
    spdlog::info("recording streams into {} (clips: {} MB / {} s, 0 = no limit)", spool,
                 s.config.clip_size_mb, s.config.clip_length_s);
  }
  catalog::Catalog* catalog_ptr = s.catalog.get();
  asio::io_context* control = &s.io;
  std::unique_ptr<signal::PeerJsGateway>* peerjs = &s.peerjs;
  std::unique_ptr<ClusterNode>* cluster = &cluster_node;
  std::unique_ptr<ClusterStreamFeed> stream_feed;  // this node's live streams into its record
  opts.on_stream_event = [catalog_ptr, control, tell_app, peerjs, hooks,
                          cluster](const sfu::StreamEvent& e) {
    asio::post(*control, [catalog_ptr, tell_app, peerjs, hooks, e, cluster] {
      if (e.kind == sfu::StreamEvent::Kind::kEnded && *cluster) (*cluster)->ended(e.info.name);
      if (e.kind == sfu::StreamEvent::Kind::kStarted) {
        nlohmann::json started = {
            {"streamId", e.info.name}, {"id", e.info.session_id}, {"whep", "/whep/" + e.info.name}};
        if (*peerjs) {
          if (auto id = (*peerjs)->viewer_peer_id(e.info.name); !id.empty()) {
            started["viewerPeerId"] = id;
          }
        }
        tell_app("stream-started", started);
      } else {
        if (*peerjs) (*peerjs)->stream_ended(e.info.name);
        nlohmann::json clips = nlohmann::json::array();
        if (auto rows = catalog_ptr->list_clips(e.info.session_id, "", {500, 0}); rows.ok()) {
          for (const auto& c : *rows) clips.push_back(catalog::to_json(c));
        }
        tell_app("stream-ended",
                 {{"streamId", e.info.name}, {"id", e.info.session_id}, {"clips", clips}});
      }
      if (e.kind == sfu::StreamEvent::Kind::kStarted) {
        catalog::StreamRecord r;
        r.id = e.info.session_id;
        r.name = e.info.name;
        r.publisher = e.publisher;
        r.started_at = e.info.started_at;
        r.status = "live";
        r.video_codec = e.info.video_codec;
        r.audio_codec = e.info.audio_codec;
        if (auto st = catalog_ptr->upsert_stream(r); !st) spdlog::error("{}", st.message());
      } else if (auto st =
                     catalog_ptr->end_stream(e.info.session_id, iso8601_utc(), e.peak_viewers);
                 !st) {
        spdlog::error("{}", st.message());
      }
      if (hooks) publish_stream_event(*hooks, *catalog_ptr, e);
    });
  };
  // Always: SIGHUP may turn viewer events on (publish() drops what is not wanted).
  if (hooks) {
    opts.on_viewer_event = [control, hooks](const sfu::ViewerEvent& e) {
      asio::post(*control, [hooks, e] { publish_viewer_event(*hooks, e); });
    };
  }
  // One media worker per core (MEDIA_WORKERS), each on its own UDP port
  // (UDP_PORT + index, or any free port when UDP_PORT is 0).
  s.workers = std::make_unique<WorkerPool>(s.io);
  s.workers->set_pacing(s.config.pacing);
  s.workers->set_send_via(s.config.send_path == "io_uring"    ? net::SendVia::kUring
                          : s.config.send_path == "connected" ? net::SendVia::kConnected
                          : s.config.send_path == "xdp"       ? net::SendVia::kXdp
                                                              : net::SendVia::kSendmmsg);
  s.workers->set_xdp_device(s.config.xdp_device);
  for (unsigned i = 0; i < s.config.media_workers; ++i) {
    const uint16_t port = s.config.udp_port == 0 ? 0 : uint16_t(s.config.udp_port + i);
    // ICE-TCP: TCP_PORT + index, or the worker's own UDP port number.
    std::optional<uint16_t> tcp_port;
    if (s.config.ice_tcp) tcp_port = s.config.tcp_port ? uint16_t(s.config.tcp_port + i) : 0;
    if (auto st = s.workers->add_worker(port, cert.value(), opts, ips, tcp_port); !st) {
      spdlog::critical("media worker {}: {} (set UDP_PORT, TCP_PORT, MEDIA_WORKERS or ICE_TCP)", i,
                       st.message());
      return 1;
    }
  }
  s.workers->set_send_shape(s.config.send_path == "plain"     ? net::SendShape::kPlain
                            : s.config.send_path == "grouped" ? net::SendShape::kGrouped
                                                              : net::SendShape::kGso);
  if (s.config.public_ip_auto) ips = apply_public_ip_auto(s.config, *s.workers, std::move(ips));
  WorkerPool& engines = *s.workers;

  GracefulShutdown shutdown(s.io, std::chrono::duration_cast<Duration>(
                                      std::chrono::duration<double>(s.config.shutdown_grace_s)));
  s.router.set_gate([&shutdown](const http::Request& req, std::string_view route) {
    return shutdown.gate(req, route);
  });
  s.router.add("/healthz",
               [](const http::Request& req, const http::RequestContext&, http::Responder respond) {
                 respond(http::make_response(req, http::Status::ok, "ok\n"));
               });
  register_stats_api(s.router, engines);
  // Runs a function on the control thread (the front ends' callbacks).
  const signal::ControlRunner run_on_control = [control](std::function<void()> fn) {
    asio::post(*control, std::move(fn));
  };
  if (!s.config.redis_url.empty()) {
    if (s.config.cluster_viewers == "relay") {
      cluster_relays = std::make_unique<ClusterRelays>(s.io, engines, s.config.cluster_secret);
    }
    // Read on the cluster thread: atomics only.
    auto live = opts.live_streams;
    const WorkerPool* pool = s.workers.get();
    auto cpu = std::make_shared<CpuMeter>();
    cluster_node = std::make_unique<ClusterNode>(
        cluster::parse_redis_url(s.config.redis_url).value(),
        [live, pool, cpu](cluster::NodeInfo& n) {
          n.peers = pool->peer_count();
          n.streams = live->load();
          n.cpu = cpu->sample();
        },
        run_on_control);
  }
  register_cluster_api(s.router, cluster_node);
  register_metrics_api(
      s.router, {engines, s.router, *s.uploader, catalog_counts,
                 s.recording ? &s.recording->stats() : nullptr, hls ? &hls->registry() : nullptr});
  signal::register_whip_whep(
      s.router, engines,
      {s.config.stream_key,
       ice_server_options(s.config),
       {s.config.session_rate, s.config.session_burst, 100000},
       s.config.sessions_per_ip,
       cluster_node.get(),
       cluster_node != nullptr && s.config.cluster_viewers == "redirect",
       cluster_relays.get(),
       s.config.cluster_secret,
       publisher_placement(cluster_node, {s.config.cluster_max_peers, s.config.cluster_max_cpu})});
  if (!s.config.ice_servers.empty()) {
    std::string list;
    for (const auto& u : s.config.ice_servers) list += (list.empty() ? "" : ", ") + u;
    spdlog::info("ICE servers for clients: {} ({})", list,
                 !s.config.turn_secret.empty()     ? "TURN credentials per session from TURN_SECRET"
                 : !s.config.turn_username.empty() ? "static TURN credentials"
                                                   : "no TURN credentials");
  }
  signal::register_rest_api(
      s.router, engines, run_on_control, s.catalog.get(),
      cluster_node ? cluster_streams(cluster_node) : signal::ClusterStreams{});
  signal::AdminApiOptions admin;
  admin.admin_key = s.config.admin_key;
  // The app hears of an operator's kick (a stream's end it hears anyway).
  admin.on_ended = [tell_app](const std::string& stream, const std::string& id, bool publisher) {
    tell_app("session-ended", {{"streamId", stream},
                               {"id", id},
                               {"role", publisher ? "publisher" : "viewer"},
                               {"reason", "ended by an admin"}});
  };
  admin.post_to_control = run_on_control;
  signal::register_admin_api(s.router, engines, std::move(admin));
  if (s.config.admin_key.empty())
    spdlog::info("admin API (/api/admin/) open to loopback only: set ADMIN_KEY to use it remotely");
  s.socketio->register_routes(s.router);
  s.router.set_upgrade_handler(
      [sio](http::Request& req, const http::RequestContext& ctx, http::UpgradeStream stream) {
        return sio->take_websocket(req, ctx, stream);
      });
  // The original app's control events. `end-stream` ends a live stream by
  // name; `start-stream` needs the PeerJS side, which this build lacks.
  s.socketio->on("end-stream", [&engines, control](const std::string&, const nlohmann::json& args,
                                                   signal::SocketIoServer::Ack ack) {
    const auto& a = args.empty() ? nlohmann::json() : args[0];
    const std::string name = a.is_object() ? a.value("streamId", "") : "";
    engines.run_for_stream(name, [name, ack, control](sfu::Engine& engine) {
      bool ended = false;
      for (const auto& st : engine.streams()) {
        if (st.name == name) ended = engine.end_session(name, st.session_id, true);
      }
      if (ack) {
        asio::post(*control, [ack, ended, name] {
          ack(ended ? nlohmann::json{{"ok", true}}
                    : nlohmann::json{{"error", "stream '" + name + "' is not live"}});
        });
      }
    });
  });
  if (!s.config.peer_host.empty()) {
    signal::PeerJsGateway::Options po;
    po.server = {s.config.peer_host, s.config.peer_port, s.config.peer_path, s.config.peer_key,
                 s.config.peer_secure};
    po.claims = cluster_node.get();
    s.peerjs = std::make_unique<signal::PeerJsGateway>(
        s.io, po, engines, run_on_control,
        [sio](const std::string& socket_id, const std::string& stream_id,
              const std::string& message) {
          sio->emit(socket_id, "stream-error", {{"streamId", stream_id}, {"message", message}});
        });
    spdlog::info("PeerJS: streams started with start-stream register on {}://{}:{}{}",
                 s.config.peer_secure ? "wss" : "ws", s.config.peer_host, s.config.peer_port,
                 s.config.peer_path);
  }
  signal::PeerJsGateway* gateway = s.peerjs.get();
  s.socketio->on("start-stream", [sio, gateway, &shutdown](const std::string& socket_id,
                                                           const nlohmann::json& args,
                                                           signal::SocketIoServer::Ack ack) {
    const auto& a = args.empty() ? nlohmann::json() : args[0];
    auto str = [&](const char* key) {
      return a.is_object() && a.contains(key) && a[key].is_string() ? a[key].get<std::string>()
                                                                    : std::string();
    };
    const std::string stream_id = str("streamId");
    // By value: with a cluster, start_stream answers later (after its claim).
    auto refuse = [sio, socket_id, stream_id, ack](const std::string& message) {
      sio->emit(socket_id, "stream-error", {{"streamId", stream_id}, {"message", message}});
      if (ack) ack(nlohmann::json{{"error", message}});
    };
    if (shutdown.draining()) return refuse("the server is shutting down: try again shortly");
    if (!gateway) {
      return refuse(
          "start-stream calls the streamer over PeerJS, which needs PEER_HOST; "
          "or publish with WHIP at /whip/<streamId>");
    }
    const nlohmann::json metadata =
        a.is_object() && a.contains("metadata") ? a["metadata"] : nlohmann::json();
    gateway->start_stream(
        socket_id, str("peerId"), stream_id, metadata,
        [refuse, ack](const std::optional<signal::PeerJsGateway::Started>& started,
                      const std::string& error) {
          if (!started) return refuse(error);
          if (ack) {
            ack(nlohmann::json{{"ok", true},
                               {"streamId", started->stream_id},
                               {"viewerPeerId", started->viewer_peer_id}});
          }
        });
  });
  // Clips in the local store, at the URLs the catalog gives them.
  s.router.add("/recordings/", http::static_files_handler(s.config.data_dir));
  if (hls) {
    hls->set_claims(cluster_node.get());  // another node's stream: 307 there
    hls->register_routes(s.router);       // /hls/{stream}/index.m3u8
    hls->start();
  } else {
    s.router.add("/hls/", [](const http::Request& req, const http::RequestContext&,
                             http::Responder respond) {
      respond(http::make_response(req, http::Status::not_found,
                                  "HLS is off on this server (HLS=false)\n"));
    });
  }
  s.router.add(kWatchPagePrefix, watch_page_handler(s.config.web_dir));  // /watch/{stream}
  s.router.set_fallback(http::static_files_handler(s.config.web_dir));

  HttpsFrontEnd https(s.io, s.config);  // TLS_CERT, HTTP_REDIRECT_PORT, reloads, SIGHUP
  if (auto st = https.attach(s.http, s.router); !st) {
    spdlog::critical("{}", st.message());
    return 1;
  }
  if (auto st = s.http.listen(s.config.listen_address, s.config.port); !st) {
    spdlog::critical("{} (set PORT)", st.message());
    return 1;
  }
  if (auto st = https.start(s.http.local_port()); !st) {
    spdlog::critical("{}", st.message());
    return 1;
  }
  s.workers->start();
  if (cluster_node) {
    const uint16_t port = s.http.local_port();
    cluster::NodeInfo self;
    self.id = s.config.node_id.empty() ? default_node_id(port) : s.config.node_id;
    self.url = s.config.node_url.empty() ? default_node_url(ips, port, !s.config.tls_cert.empty())
                                         : s.config.node_url;
    for (const auto& ip : ips) {
      for (size_t i = 0; i < s.workers->size(); ++i)
        self.media_addresses.push_back(host_port(ip, s.workers->worker(i).port()));
    }
    cluster_node->start(std::move(self));
    stream_feed = std::make_unique<ClusterStreamFeed>(s.io, engines, *cluster_node);
    stream_feed->start();
    cluster_events = std::make_unique<ClusterEvents>(
        cluster::parse_redis_url(s.config.redis_url).value(), *cluster_node, run_on_control,
        [sio](const std::string& event, const nlohmann::json& data) {
          sio->broadcast(event, data);
        });
    cluster_events->start();
  }
  // SIGHUP: LOG_LEVEL and the webhooks from CONFIG_FILE (the TLS front end
  // reloads its certificate on the same signal).
  asio::signal_set hup(s.io, SIGHUP);
  ReloadableSettings in_force = reloadable_settings(s.config);
  std::function<void()> wait_for_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      reload_config_file(s.config.config_file, in_force, *s.webhooks);
      wait_for_hup();
    });
  };
  wait_for_hup();
  // SIGTERM/SIGINT: drain (503 for new sessions, peers closed, clips
  // spooled and uploaded for up to SHUTDOWN_GRACE), then stop; a second
  // signal stops at once.
  GracefulShutdown::Steps steps;
  steps.end_sessions = [&](std::function<void()> done) {
    // A draining node takes no new sessions: it leaves the cluster now.
    if (stream_feed) stream_feed->stop();
    if (cluster_events) cluster_events->stop();
    if (cluster_node) cluster_node->stop();
    if (s.peerjs) s.peerjs->stop();
    engines.run_on_all([](sfu::Engine& e) { e.shutdown(); }, std::move(done));
  };
  steps.finish_recordings = [&] {
    if (s.recording) s.recording->stop();  // joins: every clip in progress is in the spool
    if (s.uploader) s.uploader->notify();
  };
  steps.pending_uploads = [&] { return s.uploader ? s.uploader->spooled() : size_t(0); };
  steps.pending_webhooks = [&] { return s.webhooks ? s.webhooks->queued() : size_t(0); };
  steps.stop = [&] {
    s.http.stop();
    https.stop();
    s.io.stop();
  };
  shutdown.start(std::move(steps));
  std::string where;
  for (const auto& ip : ips) where += (where.empty() ? "" : ", ") + ip;
  std::string ports;
  for (size_t i = 0; i < s.workers->size(); ++i) {
    ports += (i ? ", " : "") + std::to_string(s.workers->worker(i).port());
  }
  spdlog::info("{} media worker{} on UDP {} (candidates: {})", s.workers->size(),
               s.workers->size() == 1 ? "" : "s", ports, where);
  spdlog::info("live-stream-server ready: open {}", https.page_url(s.http.local_port()));
  s.io.run();
  if (cluster_events) cluster_events->stop();
  if (cluster_node) cluster_node->stop();  // leaves the cluster before the peers go
  if (s.peerjs) s.peerjs->stop();

  s.workers->stop();                     // every peer gets a DTLS close first
  if (s.recording) s.recording->stop();  // finishes the clips in progress
  if (s.uploader) {
    // Store what just finished, if the store is reachable (not after a
    // second signal: that asks to stop now; the spool resumes at start).
    if (!shutdown.hurried()) s.uploader->process_once();
    s.uploader->stop();
  }
  if (s.webhooks) s.webhooks->stop();  // what is undelivered stays queued for the next start
  spdlog::info("stopped");
  return 0;
}

}  // namespace lss
