#include "http/http_server.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include "http/tls_context.hpp"

namespace lss::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// Between accepts that failed for want of descriptors or memory.
constexpr std::chrono::milliseconds kAcceptRetry{100};

SocketAddress to_socket_address(const tcp::endpoint& ep) {
  SocketAddress a;
  a.port = ep.port();
  auto ip = ep.address();
  if (ip.is_v6() && ip.to_v6().is_v4_mapped())
    ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  if (ip.is_v4()) {
    auto b = ip.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), a.ip.begin());
    a.family = SocketAddress::Family::kIPv4;
  } else {
    auto b = ip.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), a.ip.begin());
    a.family = SocketAddress::Family::kIPv6;
  }
  return a;
}

// One HTTP/1.1 connection: read a request, dispatch, write the response,
// repeat while keep-alive. Only one request is in flight at a time. Stream
// is beast::tcp_stream (HTTP) or TlsStream (HTTPS: a TLS handshake first,
// with the context current when the connection came, which it keeps).
// Every read and write runs under a deadline (beast::tcp_stream closes the
// socket when it passes): the handshake, the first request's header from
// the start, a later request's first byte within the idle timeout and then
// its header, the body, each write.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(tcp::socket socket, SocketAddress remote, std::shared_ptr<asio::ssl::context> tls,
          const Router& router, const ServerLimits& limits,
          std::shared_ptr<std::atomic<size_t>> open, ConnectionLimiter::Slot slot)
      : tls_(std::move(tls)),
        stream_(make_stream(std::move(socket), tls_.get())),
        router_(router),
        limits_(limits),
        open_(std::move(open)),
        slot_(std::move(slot)) {
    open_->fetch_add(1);
    ctx_.remote = remote;
  }

  ~Session() { open_->fetch_sub(1); }

  void start() {
    if constexpr (kTls) {
      tcp_stream().expires_after(limits_.handshake_timeout);
      stream_.async_handshake(
          asio::ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
    } else {
      read_header();
    }
  }

 private:
  static Stream make_stream(tcp::socket socket, asio::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }
  beast::tcp_stream& tcp_stream() { return beast::get_lowest_layer(stream_); }

  void on_handshake(beast::error_code ec) {
    if (!ec) return read_header();
    // Plain HTTP sent to the HTTPS port: say so in plain HTTP, as nginx does,
    // rather than leaving the client with a reset.
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
      static const std::string kBody = "This port speaks HTTPS: use https:// instead of http://.\n";
      static const std::string kPlainHttp =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: " +
          std::to_string(kBody.size()) + "\r\nConnection: close\r\n\r\n" + kBody;
      tcp_stream().expires_after(std::chrono::seconds(5));
      asio::async_write(tcp_stream(), asio::buffer(kPlainHttp),
                        [self = this->shared_from_this()](beast::error_code, size_t) {
                          beast::error_code ignored;
                          self->tcp_stream().socket().shutdown(tcp::socket::shutdown_send, ignored);
                        });
      return;
    }
    spdlog::debug("https {}: TLS handshake failed: {}", ctx_.remote.to_string(), ec.message());
  }

  // Between keep-alive requests: wait (idle timeout) for the next one's
  // first bytes, then give its header the header timeout from there. A
  // pipelined request already in the buffer starts at once.
  void await_next_request() {
    if (buffer_.size() > 0) return read_header();
    tcp_stream().expires_after(limits_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->buffer_.commit(n);
                              if (ec) return self->on_read(ec);
                              self->read_header();
                            });
  }

  void read_header() {
    parser_.emplace();
    parser_->body_limit(limits_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(limits_.max_header_bytes));
    tcp_stream().expires_after(limits_.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) {
          if (ec == beast::error::timeout) {
            spdlog::debug("http {}: request header not complete in {} ms: closed",
                          self->ctx_.remote.to_string(), self->limits_.header_timeout.count());
          }
          if (ec || self->parser_->is_done()) return self->on_read(ec);
          self->read_body();
        });
  }

  void read_body() {
    tcp_stream().expires_after(limits_.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec == beast::error::timeout) {
                          spdlog::debug("http {}: request body not complete in {} ms: closed",
                                        self->ctx_.remote.to_string(),
                                        self->limits_.body_timeout.count());
                        }
                        self->on_read(ec);
                      });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::ssl::error::stream_truncated || ec == asio::error::eof) {
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      spdlog::info("http {}: body over {} bytes rejected", ctx_.remote.to_string(),
                   limits_.max_body_bytes);
      Request req;
      req.version(11);
      auto res = make_response(req, Status::payload_too_large, "request body too large\n");
      res.keep_alive(false);
      return write(std::move(res));
    }
    if (ec) {
      spdlog::info("http {}: bad request: {}", ctx_.remote.to_string(), ec.message());
      Request req;
      req.version(11);
      auto res =
          make_response(req,
                        ec == bhttp::error::header_limit ? Status::request_header_fields_too_large
                                                         : Status::bad_request,
                        "malformed HTTP request: " + ec.message() + "\n");
      res.keep_alive(false);
      return write(std::move(res));
    }
    request_ = parser_->release();
    if (boost::beast::websocket::is_upgrade(request_) && router_.upgrade_handler()) {
      tcp_stream().expires_never();
      if (router_.upgrade_handler()(request_, ctx_, UpgradeStream(&stream_)))
        return;  // the stream moved away
    }
    auto self = this->shared_from_this();
    auto executor = stream_.get_executor();
    // The responder may run on another thread: hop back to this connection's
    // executor before touching the stream.
    Responder respond = [self, executor](Response res) {
      asio::post(executor, [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
    };
    // Per request, on a copy: a context kept by the session would hold the
    // session alive through this lambda.
    RequestContext ctx = ctx_;
    ctx.send_file = [self, executor](FileResponse res) {
      asio::post(executor, [self, res = std::move(res)]() mutable {
        self->write_file(std::make_shared<FileResponse>(std::move(res)));
      });
    };
    try {
      router_.dispatch(request_, ctx, std::move(respond));
    } catch (const std::exception& e) {
      spdlog::error("http handler for {} threw: {}", std::string(request_.target()), e.what());
      write(make_response(request_, Status::internal_server_error, "internal error\n"));
    }
  }

  void write(Response res) {
    auto sp = std::make_shared<Response>(std::move(res));
    const bool close_after = !sp->keep_alive();
    tcp_stream().expires_after(limits_.idle_timeout);
    bhttp::async_write(
        stream_, *sp,
        [self = this->shared_from_this(), sp, close_after](beast::error_code ec, size_t) {
          if (ec || close_after) return self->close();
          self->await_next_request();
        });
  }

  // A file body goes out chunk by chunk, the idle timeout restarting for
  // each: a long download over a slow link is not an idle connection.
  void write_file(std::shared_ptr<FileResponse> res) {
    auto sr = std::make_shared<bhttp::response_serializer<FileResponse::body_type>>(*res);
    write_file_chunk(std::move(res), std::move(sr));
  }
  void write_file_chunk(std::shared_ptr<FileResponse> res,
                        std::shared_ptr<bhttp::response_serializer<FileResponse::body_type>> sr) {
    tcp_stream().expires_after(limits_.idle_timeout);
    bhttp::async_write_some(
        stream_, *sr, [self = this->shared_from_this(), res, sr](beast::error_code ec, size_t) {
          if (ec) return self->close();
          if (!sr->is_done()) return self->write_file_chunk(res, sr);
          if (!res->keep_alive()) return self->close();
          self->await_next_request();
        });
  }

  void close() {
    if constexpr (kTls) {
      // close_notify, then the socket closes with the session (the peer's
      // reply is not awaited for long).
      tcp_stream().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  static constexpr size_t kFirstReadBytes = 4096;

  std::shared_ptr<asio::ssl::context> tls_;  // null for plain HTTP; outlives stream_
  Stream stream_;
  beast::flat_buffer buffer_;
  const Router& router_;
  const ServerLimits limits_;  // a copy: a session may outlive its server
  RequestContext ctx_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  std::shared_ptr<std::atomic<size_t>> open_;
  ConnectionLimiter::Slot slot_;  // its place among its address's connections
};

}  // namespace

HttpServer::HttpServer(asio::io_context& io, const Router& router, ServerLimits limits)
    : io_(io),
      router_(router),
      limits_(limits),
      acceptor_(io),
      accept_retry_(io),
      per_address_(limits.max_connections_per_address, !limits.limit_loopback) {}

HttpServer::~HttpServer() {
  stop();
}

lss::Status HttpServer::listen(const std::string& address, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return make_error("invalid listen address '" + address + "'");
  tcp::endpoint ep(addr, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error("cannot listen on " + address + ":" + std::to_string(port) + ": " +
                      ec.message());
  accept();
  return {};
}

void HttpServer::use_tls(std::shared_ptr<TlsContextProvider> tls) {
  tls_ = std::move(tls);
}

uint16_t HttpServer::local_port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void HttpServer::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  accept_retry_.cancel();
}

void HttpServer::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void HttpServer::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec && ec != asio::error::connection_aborted) {
    // Out of descriptors (EMFILE, ENFILE) or memory: the pending connection
    // stays in the backlog, so accepting again at once would fail again at
    // once, a busy loop that starves everything else on this thread. Wait a
    // little instead; connections closing meanwhile free descriptors.
    ++accept_errors_;
    if (auto n = accept_error_log_.admit(Clock::now())) {
      spdlog::error("http: accepting a connection failed: {} ({} times; retrying every {} ms)",
                    ec.message(), *n, kAcceptRetry.count());
    }
    accept_retry_.expires_after(kAcceptRetry);
    accept_retry_.async_wait([this](const boost::system::error_code& wait_ec) {
      if (!wait_ec && acceptor_.is_open()) accept();
    });
    return;
  }
  if (ec) return accept();  // that client gave up before we took it
  boost::system::error_code ep_ec;
  const auto ep = socket.remote_endpoint(ep_ec);
  if (ep_ec) return accept();  // already gone (the socket closes with it)
  const SocketAddress remote = to_socket_address(ep);
  if (auto slot = admit(remote)) {
    if (tls_) {
      std::make_shared<Session<TlsStream>>(std::move(socket), remote, tls_->current(), router_,
                                           limits_, open_connections_, std::move(*slot))
          ->start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(std::move(socket), remote, nullptr, router_,
                                                   limits_, open_connections_, std::move(*slot))
          ->start();
    }
  } else {
    // Closed at once, before any read: a refusal costs no more than the
    // accept, where writing a 429 would let a flood keep sockets busy.
    boost::system::error_code ignored;
    socket.close(ignored);
  }
  accept();
}

// A place for a new connection from `remote`, under the global cap and its
// address's; nullopt (logged, at most a line per kLogInterval) when refused.
std::optional<ConnectionLimiter::Slot> HttpServer::admit(const SocketAddress& remote) {
  const auto now = Clock::now();
  if (open_connections_->load() >= limits_.max_connections) {
    if (auto n = full_log_.admit(now)) {
      spdlog::warn(
          "http: {} connections open (HTTP_MAX_CONNECTIONS): refused {} new connection(s) since "
          "the last such line",
          open_connections_->load(), *n);
    }
    return std::nullopt;
  }
  return per_address_.admit(remote, refused_);
}

}  // namespace lss::http
