#include "app/server_app.hpp"

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include "http/http_server.hpp"
#include "http/router.hpp"
#include "http/static_files.hpp"

namespace lss {
namespace asio = boost::asio;

struct ServerApp::Impl {
  explicit Impl(Config c) : config(std::move(c)), http(io, router, {}) {}

  Config config;
  asio::io_context io;  // the control thread
  http::Router router;
  http::HttpServer http;
};

ServerApp::ServerApp(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
ServerApp::~ServerApp() = default;

int ServerApp::run() {
  Impl& s = *impl_;
  s.router.add("/healthz", [](const http::Request& req, const http::RequestContext&,
                              http::Responder respond) {
    respond(http::make_response(req, http::Status::ok, "ok\n"));
  });
  s.router.set_fallback(http::static_files_handler(s.config.web_dir));

  if (auto st = s.http.listen(s.config.listen_address, s.config.port); !st) {
    spdlog::critical("{}", st.message());
    return 1;
  }
  asio::signal_set signals(s.io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {} received, shutting down", sig);
    s.http.stop();
    s.io.stop();
  });
  spdlog::info("live-stream-server ready: open http://localhost:{}/", s.http.local_port());
  s.io.run();
  spdlog::info("stopped");
  return 0;
}

}  // namespace lss
