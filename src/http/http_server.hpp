#pragma once
// Boost.Beast HTTP/1.1 server on the control thread. It bounds header and
// body sizes (413 past the body limit), times out idle connections, and hands
// each request to the Router. With use_tls() the port speaks HTTPS (and so
// WSS for upgrades) with the provider's current certificate.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "http/router.hpp"

namespace lss::http {

struct ServerLimits {
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds handshake_timeout{10};  // a TLS handshake, from the accept
  size_t max_connections = 4096;               // past this, new connections are closed at once
};

class TlsContextProvider;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, const Router& router, ServerLimits limits = {});
  ~HttpServer();
  // HTTPS from now on (call before listen()).
  void use_tls(std::shared_ptr<TlsContextProvider> tls);
  bool tls() const { return tls_ != nullptr; }
  lss::Status listen(const std::string& address, uint16_t port);
  uint16_t local_port() const;
  void stop();

 private:
  void accept();

  boost::asio::io_context& io_;
  const Router& router_;
  ServerLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<TlsContextProvider> tls_;
  std::shared_ptr<std::atomic<size_t>> open_connections_ = std::make_shared<std::atomic<size_t>>(0);
};

}  // namespace lss::http
