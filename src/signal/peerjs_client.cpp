#include "signal/peerjs_client.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <variant>

namespace lss::signal {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// One connection attempt's objects; replaced on every reconnect so nothing
// of a dead connection is reused.
struct PeerJsClient::Socket {
  explicit Socket(asio::io_context& io, bool secure)
      : resolver(io), tls(asio::ssl::context::tls_client) {
    if (secure) {
      tls.set_default_verify_paths();
      tls.set_verify_mode(asio::ssl::verify_peer);
      ws.emplace<std::unique_ptr<TlsWs>>(std::make_unique<TlsWs>(io, tls));
    } else {
      ws.emplace<std::unique_ptr<PlainWs>>(std::make_unique<PlainWs>(io));
    }
  }
  template <class F>
  void visit(F&& f) {
    std::visit([&](auto& p) { f(*p); }, ws);
  }
  beast::tcp_stream& tcp() {
    beast::tcp_stream* out = nullptr;
    visit([&](auto& w) { out = &beast::get_lowest_layer(w); });
    return *out;
  }

  tcp::resolver resolver;
  asio::ssl::context tls;
  std::variant<std::unique_ptr<PlainWs>, std::unique_ptr<TlsWs>> ws;
  beast::flat_buffer buffer;
};

std::shared_ptr<PeerJsClient> PeerJsClient::create(asio::io_context& io, PeerJsServer server,
                                                   std::string id, Handlers handlers,
                                                   Timing timing) {
  return std::shared_ptr<PeerJsClient>(
      new PeerJsClient(io, std::move(server), std::move(id), std::move(handlers), timing));
}

PeerJsClient::PeerJsClient(asio::io_context& io, PeerJsServer server, std::string id,
                           Handlers handlers, Timing timing)
    : io_(io),
      server_(std::move(server)),
      id_(std::move(id)),
      token_(peerjs::new_token()),
      handlers_(std::move(handlers)),
      timing_(timing),
      heartbeat_timer_(io),
      retry_timer_(io),
      backoff_(timing.first_backoff) {}

PeerJsClient::~PeerJsClient() = default;

void PeerJsClient::start() {
  connect();
}

void PeerJsClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  handlers_ = {};
  heartbeat_timer_.cancel();
  retry_timer_.cancel();
  queue_.clear();
  if (socket_ && connected_) {
    // A clean close; the server drops the id when the socket goes.
    auto self = shared_from_this();
    socket_->visit([self](auto& ws) {
      ws.async_close(websocket::close_code::normal, [self](beast::error_code) {});
    });
  } else if (socket_) {
    beast::error_code ec;
    socket_->tcp().socket().close(ec);
  }
  connected_ = false;
}

void PeerJsClient::send(std::string frame) {
  if (stopped_) return;
  if (queue_.size() >= kMaxQueued) queue_.pop_front();
  queue_.push_back(std::move(frame));
  if (connected_ && !writing_) write_next();
}

void PeerJsClient::connect() {
  if (stopped_) return;
  const uint64_t gen = ++generation_;
  socket_ = std::make_unique<Socket>(io_, server_.secure);
  auto self = shared_from_this();
  socket_->tcp().expires_after(timing_.connect_timeout);
  socket_->resolver.async_resolve(
      server_.host, std::to_string(server_.port),
      [self, gen](beast::error_code ec, tcp::resolver::results_type results) {
        if (self->stopped_ || gen != self->generation_) return;
        if (ec) return self->disconnected("cannot resolve the PeerJS host: " + ec.message());
        self->socket_->tcp().async_connect(results, [self, gen](beast::error_code ec,
                                                                const tcp::endpoint&) {
          if (self->stopped_ || gen != self->generation_) return;
          if (ec) return self->disconnected("cannot connect: " + ec.message());
          const std::string host = self->server_.host + ":" + std::to_string(self->server_.port);
          const std::string target =
              peerjs::socket_target(self->server_.path, self->server_.key, self->id_, self->token_);
          auto ws_handshake = [self, gen, host, target](auto& ws) {
            ws.async_handshake(host, target, [self, gen](beast::error_code ec) {
              if (self->stopped_ || gen != self->generation_) return;
              if (ec) return self->disconnected("WebSocket handshake failed: " + ec.message());
              self->on_connected();
            });
          };
          if (auto* tls = std::get_if<std::unique_ptr<TlsWs>>(&self->socket_->ws)) {
            TlsWs& ws = **tls;
            SSL_set_tlsext_host_name(ws.next_layer().native_handle(), self->server_.host.c_str());
            ws.next_layer().set_verify_callback(
                asio::ssl::host_name_verification(self->server_.host));
            ws.next_layer().async_handshake(
                asio::ssl::stream_base::client,
                [self, gen, ws_handshake, &ws](beast::error_code ec) {
                  if (self->stopped_ || gen != self->generation_) return;
                  if (ec) return self->disconnected("TLS handshake failed: " + ec.message());
                  ws_handshake(ws);
                });
          } else {
            ws_handshake(*std::get<std::unique_ptr<PlainWs>>(self->socket_->ws));
          }
        });
      });
}

void PeerJsClient::on_connected() {
  connected_ = true;
  socket_->tcp().expires_never();
  socket_->visit([](auto& ws) {
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws.read_message_max(peerjs::kMaxMessageBytes);
    ws.text(true);
  });
  read();
  heartbeat();
  // A server that still holds our id under our token reattaches the socket
  // without a new OPEN, so queued frames go out now rather than on OPEN.
  if (!queue_.empty()) write_next();
}

void PeerJsClient::read() {
  auto self = shared_from_this();
  const uint64_t gen = generation_;
  socket_->visit([self, gen](auto& ws) {
    ws.async_read(self->socket_->buffer, [self, gen](beast::error_code ec, size_t) {
      if (self->stopped_ || gen != self->generation_) return;
      if (ec) return self->disconnected("connection lost: " + ec.message());
      auto& buf = self->socket_->buffer;
      const std::string text = beast::buffers_to_string(buf.data());
      buf.consume(buf.size());
      self->on_frame(text);
      if (!self->stopped_ && gen == self->generation_) self->read();
    });
  });
}

void PeerJsClient::on_frame(std::string_view text) {
  auto msg = peerjs::parse(text);
  if (!msg.ok()) {
    spdlog::warn("peerjs {}: ignoring a bad message: {}", id_, msg.error().message);
    return;
  }
  switch (msg->type) {
    case peerjs::Type::kOpen:
      registered_ = true;
      backoff_ = timing_.first_backoff;
      spdlog::info("peerjs {}: registered on {}:{}", id_, server_.host, server_.port);
      if (handlers_.on_open) handlers_.on_open();
      return;
    case peerjs::Type::kIdTaken:
    case peerjs::Type::kInvalidKey: {
      const std::string why = msg->type_name + ": " + msg->error;
      auto fatal = handlers_.on_fatal;
      stop();
      if (fatal) fatal(why);
      return;
    }
    case peerjs::Type::kError:
      // "Invalid key" and a malformed handshake never heal; anything else
      // (e.g. the concurrent-user limit) may, so the socket is retried.
      if (msg->error.find("key") != std::string::npos) {
        auto fatal = handlers_.on_fatal;
        stop();
        if (fatal) fatal("ERROR: " + msg->error);
        return;
      }
      spdlog::warn("peerjs {}: server error: {}", id_, msg->error);
      return;
    default:
      if (handlers_.on_message) handlers_.on_message(*msg);
  }
}

void PeerJsClient::write_next() {
  if (queue_.empty() || !connected_ || stopped_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  const uint64_t gen = generation_;
  auto frame = std::make_shared<std::string>(std::move(queue_.front()));
  queue_.pop_front();
  socket_->visit([self, gen, frame](auto& ws) {
    ws.async_write(asio::buffer(*frame), [self, gen, frame](beast::error_code ec, size_t) {
      if (self->stopped_ || gen != self->generation_) return;
      if (ec) {
        self->queue_.push_front(std::move(*frame));  // resent after reconnecting
        self->writing_ = false;
        return self->disconnected("write failed: " + ec.message());
      }
      self->write_next();
    });
  });
}

void PeerJsClient::heartbeat() {
  auto self = shared_from_this();
  const uint64_t gen = generation_;
  heartbeat_timer_.expires_after(timing_.heartbeat);
  heartbeat_timer_.async_wait([self, gen](beast::error_code ec) {
    if (ec || self->stopped_ || gen != self->generation_ || !self->connected_) return;
    // Ahead of anything queued: the server drops ids without it.
    self->queue_.push_front(peerjs::heartbeat());
    if (!self->writing_) self->write_next();
    self->heartbeat();
  });
}

void PeerJsClient::disconnected(const std::string& why) {
  if (stopped_) return;
  last_error_ = why;
  if (connected_ || registered_)
    spdlog::warn("peerjs {}: {}; reconnecting", id_, why);
  else
    spdlog::debug("peerjs {}: {}", id_, why);
  connected_ = false;
  registered_ = false;
  writing_ = false;
  ++generation_;
  heartbeat_timer_.cancel();
  if (socket_) {
    beast::error_code ec;
    socket_->tcp().socket().close(ec);
  }
  auto self = shared_from_this();
  retry_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, timing_.max_backoff);
  retry_timer_.async_wait([self](beast::error_code ec) {
    if (!ec && !self->stopped_) self->connect();
  });
}

}  // namespace lss::signal
