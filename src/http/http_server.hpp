#pragma once
// Boost.Beast HTTP/1.1 server on the control thread. It bounds header and
// body sizes (413 past the body limit) and how long each may take to arrive
// (a client trickling a request byte by byte is cut off, not waited for),
// times out idle connections, caps connections per client address and in
// all, and hands each request to the Router. With use_tls() the port speaks
// HTTPS (and so WSS for upgrades) with the provider's current certificate.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "common/log_throttle.hpp"
#include "common/result.hpp"
#include "http/connection_limiter.hpp"
#include "http/router.hpp"

namespace lss::http {

struct ServerLimits {
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;
  // Between requests on a keep-alive connection, until the next one's first
  // byte; also a response's write (each chunk of a file's).
  std::chrono::milliseconds idle_timeout{60000};
  // A request's header, complete: from the connection's start (after a TLS
  // handshake) for its first request, else from the request's first byte.
  // Beast's deadline is absolute, so trickled bytes do not extend it.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};       // a request's body, after its header
  std::chrono::milliseconds handshake_timeout{10000};  // a TLS handshake, from the accept
  // Past these, new connections are closed at once. Per address: per
  // client_key(), loopback exempt (0: no limit).
  size_t max_connections = 4096;
  size_t max_connections_per_address = 100;
  bool limit_loopback = false;  // tests: loopback stands in for remote clients
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

  // Counters for tests and logs (control thread).
  size_t refused_per_address() const { return refused_.count; }
  size_t accept_errors() const { return accept_errors_; }

 private:
  void accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  std::optional<ConnectionLimiter::Slot> admit(const SocketAddress& remote);

  // Refusals and failing accepts are logged at most once per interval.
  static constexpr std::chrono::seconds kLogInterval{10};

  boost::asio::io_context& io_;
  const Router& router_;
  ServerLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  std::shared_ptr<TlsContextProvider> tls_;
  std::shared_ptr<std::atomic<size_t>> open_connections_ = std::make_shared<std::atomic<size_t>>(0);
  ConnectionLimiter per_address_;
  ConnectionLimiter::Refusals refused_{"http", "connections", "HTTP_CONNECTIONS_PER_IP"};
  size_t accept_errors_ = 0;
  LogThrottle full_log_{kLogInterval}, accept_error_log_{kLogInterval};
};

}  // namespace lss::http
