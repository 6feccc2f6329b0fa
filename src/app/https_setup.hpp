#pragma once
// HTTPS for the HTTP port: TLS_CERT and TLS_KEY turn PORT into HTTPS (and
// so WSS for Socket.IO), HTTP_REDIRECT_PORT adds a plain-HTTP port that
// redirects there, ACME_WEBROOT serves certbot's http-01 challenges over
// plain HTTP, and the certificate is reloaded without a restart when its
// files change or on SIGHUP.
#include <cstdint>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "common/result.hpp"

namespace boost::asio {
class io_context;
}

namespace lss {
namespace http {
class HttpServer;
class Router;
struct ServerLimits;
}  // namespace http

// The HTTP ports' limits from HEADER_TIMEOUT, BODY_TIMEOUT,
// HTTP_CONNECTIONS_PER_IP and HTTP_MAX_CONNECTIONS.
http::ServerLimits http_server_limits(const Config& config);

// The TLS settings' check at start-up (both files given, readable, a
// certificate and its unencrypted key): empty when fine, else the error,
// naming the variable.
std::string check_https_config(const Config& config);

class HttpsFrontEnd {
 public:
  HttpsFrontEnd(boost::asio::io_context& io, const Config& config);
  ~HttpsFrontEnd();

  // Before `server` listens: HTTPS on it when TLS_CERT is set, and the ACME
  // challenges on its router when ACME_WEBROOT is set.
  Status attach(http::HttpServer& server, http::Router& router);
  // Once it listens on `https_port`: the redirect port, reloads and SIGHUP.
  Status start(uint16_t https_port);
  void stop();

  bool tls() const;
  // The page's URL for the start-up log: https:// and the certificate's
  // first name, or http://localhost.
  std::string page_url(uint16_t port) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lss
