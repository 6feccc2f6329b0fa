#include "app/server_app.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <future>

#include "dtls/dtls_certificate.hpp"
#include "http/http_server.hpp"
#include "http/router.hpp"
#include "http/static_files.hpp"
#include "net/host_addresses.hpp"
#include "net/media_worker.hpp"
#include "record/recording_service.hpp"
#include "sfu/engine.hpp"
#include "signal/whip_whep.hpp"

namespace lss {
namespace asio = boost::asio;

namespace {
constexpr auto kTickInterval = std::chrono::milliseconds(20);
}

struct ServerApp::Impl {
  explicit Impl(Config c) : config(std::move(c)), http(io, router, {}) {}

  Config config;
  asio::io_context io;  // the control thread
  http::Router router;
  http::HttpServer http;
  std::unique_ptr<record::RecordingService> recording;
  std::unique_ptr<net::MediaWorker> worker;
  std::unique_ptr<sfu::Engine> engine;  // lives on `worker`'s thread
};

ServerApp::ServerApp(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
ServerApp::~ServerApp() = default;

int ServerApp::run() {
  Impl& s = *impl_;
  auto cert = DtlsCertificate::generate();
  if (!cert.ok()) {
    spdlog::critical("cannot create the DTLS certificate: {}", cert.error().message);
    return 1;
  }
  // One media worker for now; MEDIA_WORKERS > 1 arrives with cross-worker fan-out.
  s.worker = std::make_unique<net::MediaWorker>(0, s.config.udp_port);
  if (auto st = s.worker->open(); !st) {
    spdlog::critical("{} (set UDP_PORT)", st.message());
    return 1;
  }
  sfu::EngineOptions opts;
  const auto ips =
      s.config.public_ips.empty() ? net::host_candidate_addresses() : s.config.public_ips;
  for (const auto& ip : ips) opts.candidates.emplace_back(ip, s.worker->port());
  opts.consent_timeout = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(s.config.consent_timeout_s));
  if (s.config.record_streams) {
    record::ClipLimits limits;
    limits.max_bytes = uint64_t(s.config.clip_size_mb * 1'000'000.0);
    limits.max_duration_ms = int64_t(s.config.clip_length_s * 1000.0);
    const std::string spool = s.config.data_dir + "/spool";
    s.recording = std::make_unique<record::RecordingService>(spool, limits, nullptr);
    record::RecordingService* rec = s.recording.get();
    opts.start_recording = [rec](const std::string& name, const std::string& id,
                                 const std::vector<sfu::PublishedTrack>& tracks) {
      std::vector<record::RecordedTrack> rt;
      for (const auto& t : tracks) {
        rt.push_back({t.video, t.negotiated.codec.name, t.negotiated.codec.clock_rate});
      }
      return rec->start(name, id, std::move(rt));
    };
    spdlog::info("recording streams into {} (clips: {} MB / {} s, 0 = no limit)", spool,
                 s.config.clip_size_mb, s.config.clip_length_s);
  }
  net::MediaWorker* worker = s.worker.get();
  s.engine = std::make_unique<sfu::Engine>(
      cert.value(), [worker](ByteSpan d, const SocketAddress& to) { worker->send(d, to); }, opts);
  sfu::Engine* engine = s.engine.get();
  worker->set_handlers([engine](uint8_t* d, size_t n, const SocketAddress& from,
                                Timestamp now) { engine->handle_datagram(d, n, from, now); },
                       [engine](Timestamp now) { engine->tick(now); }, kTickInterval);

  s.router.add("/healthz",
               [](const http::Request& req, const http::RequestContext&, http::Responder respond) {
                 respond(http::make_response(req, http::Status::ok, "ok\n"));
               });
  signal::register_whip_whep(s.router,
                             [worker, engine](std::function<void(sfu::Engine&)> fn) {
                               asio::post(worker->io(),
                                          [engine, fn = std::move(fn)] { fn(*engine); });
                             },
                             {s.config.stream_key});
  s.router.set_fallback(http::static_files_handler(s.config.web_dir));

  if (auto st = s.http.listen(s.config.listen_address, s.config.port); !st) {
    spdlog::critical("{} (set PORT)", st.message());
    return 1;
  }
  worker->start();
  asio::signal_set signals(s.io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {} received, shutting down", sig);
    s.http.stop();
    s.io.stop();
  });
  std::string where;
  for (const auto& ip : ips) where += (where.empty() ? "" : ", ") + ip;
  spdlog::info("media on UDP {} (candidates: {})", worker->port(), where);
  spdlog::info("live-stream-server ready: open http://localhost:{}/", s.http.local_port());
  s.io.run();

  // Graceful: every peer gets a DTLS close before the worker stops.
  std::promise<void> done;
  asio::post(worker->io(), [&] {
    engine->shutdown();
    done.set_value();
  });
  done.get_future().wait_for(std::chrono::seconds(2));
  worker->stop();
  s.engine.reset();
  if (s.recording) s.recording->stop();  // finishes the clips in progress
  spdlog::info("stopped");
  return 0;
}

}  // namespace lss
