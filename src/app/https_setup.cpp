#include "app/https_setup.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>

#include "http/http_server.hpp"
#include "http/https_redirect.hpp"
#include "http/router.hpp"
#include "http/static_files.hpp"
#include "http/tls_context.hpp"
#include "http/tls_reloader.hpp"

namespace lss {

namespace {
constexpr const char* kAcmePrefix = "/.well-known/acme-challenge/";
}

std::string check_https_config(const Config& c) {
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return c.tls_cert.empty() ? "invalid TLS_CERT: required when TLS_KEY is set"
                              : "invalid TLS_KEY: required when TLS_CERT is set";
  }
  if (!c.tls_cert.empty()) {
    auto loaded = http::load_tls_context(c.tls_cert, c.tls_key);
    if (!loaded.ok()) {
      const auto& e = loaded.error();
      return std::string("invalid ") +
             (e.file == http::TlsLoadError::File::kKey ? "TLS_KEY" : "TLS_CERT") + ": " + e.message;
    }
  }
  if (c.http_redirect_port != 0) {
    if (c.tls_cert.empty())
      return "invalid HTTP_REDIRECT_PORT: it redirects to HTTPS, which needs TLS_CERT and TLS_KEY";
    if (c.http_redirect_port == c.port)
      return "invalid HTTP_REDIRECT_PORT: it must differ from PORT";
  }
  return {};
}

http::ServerLimits http_server_limits(const Config& c) {
  http::ServerLimits l;
  auto ms = [](double s) { return std::chrono::milliseconds(int64_t(s * 1000.0)); };
  l.header_timeout = ms(c.header_timeout_s);
  l.body_timeout = ms(c.body_timeout_s);
  l.max_connections = c.http_max_connections;
  l.max_connections_per_address = c.http_connections_per_ip;
  return l;
}

struct HttpsFrontEnd::Impl {
  Impl(boost::asio::io_context& io, const Config& c) : io(io), config(c) {}
  boost::asio::io_context& io;
  const Config& config;
  std::shared_ptr<http::TlsContextProvider> tls;
  http::Router redirect_router;
  std::unique_ptr<http::HttpServer> redirect;
  std::unique_ptr<http::TlsReloader> reloader;
};

HttpsFrontEnd::HttpsFrontEnd(boost::asio::io_context& io, const Config& config)
    : impl_(std::make_unique<Impl>(io, config)) {}

HttpsFrontEnd::~HttpsFrontEnd() {
  stop();
}

Status HttpsFrontEnd::attach(http::HttpServer& server, http::Router& router) {
  const Config& c = impl_->config;
  if (!c.acme_webroot.empty()) router.add(kAcmePrefix, http::static_files_handler(c.acme_webroot));
  if (c.tls_cert.empty()) return {};
  auto tls = http::TlsContextProvider::open(c.tls_cert, c.tls_key);
  if (!tls.ok()) {
    const auto& e = tls.error();
    return make_error(
        std::string(e.file == http::TlsLoadError::File::kKey ? "TLS_KEY" : "TLS_CERT") + ": " +
        e.message);
  }
  impl_->tls = std::move(tls.value());
  const auto info = impl_->tls->info();
  spdlog::info("HTTPS with the certificate {} (from {}, key {})", info.describe(), c.tls_cert,
               c.tls_key);
  if (info.expired) spdlog::warn("TLS: the certificate in {} has expired", c.tls_cert);
  server.use_tls(impl_->tls);
  return {};
}

Status HttpsFrontEnd::start(uint16_t https_port) {
  const Config& c = impl_->config;
  if (impl_->tls && c.http_redirect_port != 0) {
    if (!c.acme_webroot.empty())
      impl_->redirect_router.add(kAcmePrefix, http::static_files_handler(c.acme_webroot));
    impl_->redirect_router.set_fallback(http::https_redirect_handler(https_port));
    impl_->redirect = std::make_unique<http::HttpServer>(impl_->io, impl_->redirect_router,
                                                         http_server_limits(c));
    if (auto st = impl_->redirect->listen(c.listen_address, c.http_redirect_port); !st)
      return make_error(st.message() + " (set HTTP_REDIRECT_PORT)");
    spdlog::info(
        "HTTP on port {} redirects to HTTPS on port {}{}", impl_->redirect->local_port(),
        https_port,
        c.acme_webroot.empty() ? "" : " (ACME challenges served from " + c.acme_webroot + ")");
  }
  impl_->reloader = std::make_unique<http::TlsReloader>(impl_->io, impl_->tls);
  impl_->reloader->start();
  if (impl_->tls) {
    spdlog::info("TLS: {} and {} are read again when they change (checked every 2 s) or on SIGHUP",
                 c.tls_cert, c.tls_key);
  }
  return {};
}

void HttpsFrontEnd::stop() {
  if (impl_->reloader) impl_->reloader->stop();
  if (impl_->redirect) impl_->redirect->stop();
}

bool HttpsFrontEnd::tls() const {
  return impl_->tls != nullptr;
}

std::string HttpsFrontEnd::page_url(uint16_t port) const {
  if (!impl_->tls) return "http://localhost:" + std::to_string(port) + "/";
  std::string host = "localhost";
  for (const auto& name : impl_->tls->info().dns_names) {
    if (name.rfind("*.", 0) != 0) {
      host = name;
      break;
    }
  }
  return "https://" + host + (port == 443 ? "" : ":" + std::to_string(port)) + "/";
}

}  // namespace lss
