#include "signal/socketio_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>
#include <variant>

#include "common/random.hpp"
#include "common/time.hpp"
#include "signal/publish_auth.hpp"
#include "socketio/codec.hpp"

namespace lss::signal {
namespace bhttp = boost::beast::http;
using json = nlohmann::json;

// One WebSocket carrying an Engine.IO session: one packet per text frame,
// writes queued (Beast allows one in flight). Over TCP, or TLS (wss://) when
// the HTTP port speaks HTTPS.
class SocketIoServer::WsConnection : public std::enable_shared_from_this<WsConnection> {
  using PlainWs = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using TlsWs = boost::beast::websocket::stream<http::TlsStream>;

 public:
  WsConnection(SocketIoServer& server, http::UpgradeStream stream) : server_(server) {
    std::visit(
        [this](auto* s) {
          using Ws = boost::beast::websocket::stream<std::remove_pointer_t<decltype(s)>>;
          ws_ = std::make_unique<Ws>(std::move(*s));
        },
        stream);
  }

  void start(http::Request req, std::string sid, SocketAddress remote, std::string key) {
    auto self = shared_from_this();
    visit([&](auto& ws) {
      ws.read_message_max(server_.options_.max_payload);
      ws.set_option(boost::beast::websocket::stream_base::timeout::suggested(
          boost::beast::role_type::server));
      ws.async_accept(req, [self, sid, remote, key](boost::beast::error_code ec) {
        if (ec) return;
        self->server_.on_ws_open(self, sid, remote, key);
        self->read();
      });
    });
  }
  void send(std::string text) {
    if (closed_) return;
    queued_bytes_ += text.size();
    queue_.push_back(std::move(text));
    if (queue_.size() == 1) write();
  }
  size_t queued_bytes() const { return queued_bytes_; }
  // Drops the connection without a closing handshake: a client that does
  // not read would never take the close frame, which would wait behind the
  // write already stuck. The pending read fails and reports the close.
  void abort() {
    if (closed_) return;
    closed_ = true;
    visit([](auto& ws) {
      boost::beast::error_code ignored;
      boost::beast::get_lowest_layer(ws).socket().close(ignored);
    });
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    auto self = shared_from_this();
    visit([&](auto& ws) {
      ws.async_close(boost::beast::websocket::close_code::normal,
                     [self](boost::beast::error_code) {});
    });
  }
  std::string sid;  // the session it carries (empty while probing an upgrade)
  bool probing = false;
  // A new WebSocket-only session's place among its address's, until the
  // session takes it over (a probe belongs to a session that has one).
  std::optional<http::ConnectionLimiter::Slot> slot;

 private:
  template <class F>
  void visit(F&& f) {
    std::visit([&](auto& ws) { f(*ws); }, ws_);
  }

  void read() {
    auto self = shared_from_this();
    visit([&](auto& ws) {
      ws.async_read(buffer_, [self](boost::beast::error_code ec, size_t) {
        if (ec) {
          if (ec == boost::beast::websocket::error::message_too_big) {
            spdlog::info("socket.io: a WebSocket message over {} bytes (WS_MAX_MESSAGE_BYTES)",
                         self->server_.options_.max_payload);
          }
          self->closed_ = true;
          return self->server_.on_ws_closed(self);
        }
        const std::string message = boost::beast::buffers_to_string(self->buffer_.data());
        self->buffer_.consume(self->buffer_.size());
        bool text = false;
        self->visit([&](auto& w) { text = w.got_text(); });
        if (!text) {
          self->server_.on_ws_closed(self);  // binary packets are not supported
          return self->close();
        }
        self->server_.on_ws_text(self, message);
        if (!self->closed_) self->read();
      });
    });
  }
  void write() {
    auto self = shared_from_this();
    visit([&](auto& ws) {
      ws.text(true);
      ws.async_write(boost::asio::buffer(queue_.front()),
                     [self](boost::beast::error_code ec, size_t) {
                       self->queued_bytes_ -= self->queue_.front().size();
                       self->queue_.pop_front();
                       if (ec) return;
                       if (!self->queue_.empty()) self->write();
                     });
    });
  }

  SocketIoServer& server_;
  std::variant<std::unique_ptr<PlainWs>, std::unique_ptr<TlsWs>> ws_;
  boost::beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;  // in queue_
  bool closed_ = false;
};

struct SocketIoServer::Session {
  std::shared_ptr<WsConnection> ws;  // once the session runs over a WebSocket
  bool upgrading = false;            // a WebSocket probe succeeded; polling is winding down
  std::string sid;
  SocketAddress remote;
  std::string query_key;
  std::map<std::string, std::string> namespaces;  // nsp -> socket id
  std::deque<std::string> outbox;
  size_t outbox_bytes = 0;  // of the events in outbox (send() counts them)
  bool overflowed = false;  // past max_queued_bytes: being closed
  std::optional<http::Request> poll_request;
  http::Responder poll;  // the pending long-poll GET, if any
  Clock::time_point last_ping{}, last_pong{};
  bool awaiting_pong = false;
  http::ConnectionLimiter::Slot slot;  // its place among its address's sessions
  std::weak_ptr<WsConnection> probe;   // an upgrade being probed (one at a time)
  // Events whose ack is still owed. Atomic: the last copy of an ack may be
  // dropped on a media worker's thread.
  std::shared_ptr<std::atomic<size_t>> pending_acks = std::make_shared<std::atomic<size_t>>(0);
};

namespace {
http::Response text(const http::Request& req, http::Status status, std::string body) {
  auto res = http::make_response(req, status, std::move(body), "text/plain; charset=UTF-8");
  res.set(bhttp::field::access_control_allow_origin, "*");
  return res;
}
// Engine.IO's error replies: 400 (403 for code 4) with {"code","message"}.
http::Response eio_error(const http::Request& req, int code, const char* message) {
  auto res =
      http::make_response(req, code == 4 ? http::Status::forbidden : http::Status::bad_request,
                          json{{"code", code}, {"message", message}}.dump(), "application/json");
  res.set(bhttp::field::access_control_allow_origin, "*");
  return res;
}
http::Response too_many_connections(const http::Request& req) {
  auto res = http::make_response(
      req, http::Status::too_many_requests,
      json{{"code", 3}, {"message", "too many Socket.IO connections from your address"}}.dump(),
      "application/json");
  res.set(bhttp::field::access_control_allow_origin, "*");
  return res;
}

// Holds one owed ack's place in its session's count until the last copy of
// the ack callback is gone (answered, or dropped by its handler).
struct PendingAck {
  explicit PendingAck(std::shared_ptr<std::atomic<size_t>> n) : n(std::move(n)) {
    this->n->fetch_add(1);
  }
  ~PendingAck() { n->fetch_sub(1); }
  PendingAck(const PendingAck&) = delete;
  PendingAck& operator=(const PendingAck&) = delete;
  std::shared_ptr<std::atomic<size_t>> n;
};
}  // namespace

SocketIoServer::SocketIoServer(boost::asio::io_context& io, Options options)
    : io_(io),
      options_(std::move(options)),
      timer_(io),
      per_address_(options_.connections_per_address) {
  tick();
}

std::optional<http::ConnectionLimiter::Slot> SocketIoServer::admit(const SocketAddress& remote) {
  return per_address_.admit(remote, refused_);
}

SocketIoServer::~SocketIoServer() {
  timer_.cancel();
}

void SocketIoServer::register_routes(http::Router& router) {
  router.add("/socket.io/", [this](const http::Request& req, const http::RequestContext& ctx,
                                   http::Responder r) { handle(req, ctx, std::move(r)); });
}

// The Engine.IO open packet; polling sessions may upgrade to a WebSocket.
std::string SocketIoServer::open_packet(const std::string& sid, bool can_upgrade) const {
  const json open = {{"sid", sid},
                     {"upgrades", can_upgrade ? json::array({"websocket"}) : json::array()},
                     {"pingInterval", options_.ping_interval.count()},
                     {"pingTimeout", options_.ping_timeout.count()},
                     {"maxPayload", options_.max_payload}};
  return "0" + open.dump();
}

bool SocketIoServer::take_websocket(http::Request& req, const http::RequestContext& ctx,
                                    http::UpgradeStream stream) {
  const std::string target(req.target());
  if (http::target_path(target).rfind("/socket.io/", 0) != 0) return false;
  if (http::query_param(target, "EIO") != "4" ||
      http::query_param(target, "transport") != "websocket")
    return false;
  const std::string sid = http::query_param(target, "sid");
  Session* upgrading = nullptr;
  std::optional<http::ConnectionLimiter::Slot> slot;
  if (!sid.empty()) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end()) return false;  // answered 400 over HTTP
    upgrading = it->second.get();
    // Probes take no place of their own: one at a time per session.
    if (upgrading->ws || upgrading->probe.lock()) return false;
  } else {
    slot = admit(ctx.remote);
    if (!slot) return false;  // answered 429 over HTTP
  }
  std::string key = http::query_param(target, "key");
  if (key.empty()) key = http::query_param(target, "streamKey");
  auto ws = std::make_shared<WsConnection>(*this, stream);
  ws->slot = std::move(slot);
  if (upgrading) upgrading->probe = ws;
  ws->start(req, sid, ctx.remote, key);
  return true;
}

void SocketIoServer::on_ws_open(const std::shared_ptr<WsConnection>& ws, const std::string& sid,
                                const SocketAddress& remote, const std::string& query_key) {
  if (!sid.empty()) {
    // An upgrade of a polling session: it proves itself with the probe first.
    auto it = sessions_.find(sid);
    if (it == sessions_.end() || it->second->ws) return ws->close();
    ws->sid = sid;
    ws->probing = true;
    return;
  }
  // A WebSocket-only session.
  auto s = std::make_unique<Session>();
  s->sid = random_hex(10);
  s->remote = remote;
  s->query_key = query_key;
  s->last_pong = s->last_ping = Clock::now();
  s->ws = ws;
  if (ws->slot) s->slot = std::move(*ws->slot);
  ws->slot.reset();
  ws->sid = s->sid;
  spdlog::info("socket.io: session {} opened over WebSocket from {}", s->sid, remote.to_string());
  ws->send(open_packet(s->sid, false));
  sessions_[s->sid] = std::move(s);
}

void SocketIoServer::on_ws_text(const std::shared_ptr<WsConnection>& ws, std::string_view packet) {
  auto it = sessions_.find(ws->sid);
  if (it == sessions_.end()) return ws->close();
  Session& s = *it->second;
  if (ws->probing) {
    if (packet == "2probe") {
      ws->send("3probe");
      // Release the pending long-poll (and any that arrives before the
      // upgrade completes) so the client can pause polling.
      s.upgrading = true;
      if (s.poll) s.outbox.push_back("6"), flush(s);
    } else if (packet == "5") {
      ws->probing = false;
      s.ws = ws;
      if (s.poll) s.outbox.push_back("6"), flush(s);
      for (auto& p : s.outbox) ws->send(std::move(p));  // packets queued for polling
      s.outbox.clear();
      s.outbox_bytes = 0;
    } else {
      ws->close();
    }
    return;
  }
  if (s.ws != ws) return ws->close();
  if (!receive(s, packet)) close(s.sid, "malformed packet");
}

void SocketIoServer::on_ws_closed(const std::shared_ptr<WsConnection>& ws) {
  auto it = sessions_.find(ws->sid);
  if (it != sessions_.end() && it->second->ws == ws) {
    it->second->ws.reset();  // already closed: do not write to it
    close(ws->sid, "WebSocket closed");
  }
}

void SocketIoServer::handle(const http::Request& req, const http::RequestContext& ctx,
                            http::Responder respond) {
  const std::string target(req.target());
  if (req.method() == http::Verb::options) {
    auto res = text(req, http::Status::no_content, "");
    res.set(bhttp::field::access_control_allow_methods, "GET, POST, OPTIONS");
    res.set(bhttp::field::access_control_allow_headers, "Content-Type");
    return respond(std::move(res));
  }
  if (http::query_param(target, "EIO") != "4")
    return respond(eio_error(req, 5, "Unsupported protocol version"));
  const std::string transport = http::query_param(target, "transport");
  if (transport != "polling") {
    // A WebSocket take_websocket() refused for its address.
    if (transport == "websocket" && http::query_param(target, "sid").empty() &&
        per_address_.full(ctx.remote))
      return respond(too_many_connections(req));
    return respond(eio_error(req, 0, "Transport unknown"));
  }
  const std::string sid = http::query_param(target, "sid");
  if (sid.empty()) {
    if (req.method() != http::Verb::get) return respond(eio_error(req, 2, "Bad handshake method"));
    return handshake(req, ctx, std::move(respond));
  }
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return respond(eio_error(req, 1, "Session ID unknown"));
  Session& s = *it->second;
  if (s.ws) return respond(eio_error(req, 3, "Bad request"));  // upgraded: polling is over
  if (req.method() == http::Verb::get) {
    if (s.poll) {  // two GETs at once break the protocol: end the session
      respond(eio_error(req, 3, "Bad request"));
      return close(sid, "concurrent poll");
    }
    s.poll = std::move(respond);
    s.poll_request = req;
    if (s.upgrading && s.outbox.empty()) s.outbox.push_back("6");
    return flush(s);
  }
  if (req.method() == http::Verb::post) {
    if (req.body().size() > options_.max_payload) {
      respond(text(req, http::Status::payload_too_large, "payload too large"));
      return close(sid, "payload too large");
    }
    if (!receive(s, req.body())) {
      respond(eio_error(req, 3, "Bad request"));
      return close(sid, "malformed packet");
    }
    respond(text(req, http::Status::ok, "ok"));
    return;
  }
  respond(eio_error(req, 3, "Bad request"));
}

void SocketIoServer::handshake(const http::Request& req, const http::RequestContext& ctx,
                               http::Responder respond) {
  auto slot = admit(ctx.remote);
  if (!slot) return respond(too_many_connections(req));
  auto s = std::make_unique<Session>();
  s->slot = std::move(*slot);
  s->sid = random_hex(10);
  s->remote = ctx.remote;
  s->query_key = http::query_param(req.target(), "key");
  if (s->query_key.empty()) s->query_key = http::query_param(req.target(), "streamKey");
  s->last_pong = Clock::now();
  s->last_ping = Clock::now();
  const std::string open = open_packet(s->sid, true);
  spdlog::info("socket.io: session {} opened from {}", s->sid, ctx.remote.to_string());
  sessions_[s->sid] = std::move(s);
  respond(text(req, http::Status::ok, open));
}

bool SocketIoServer::receive(Session& s, std::string_view body) {
  const std::string sid = s.sid;
  for (std::string_view packet : ::lss::socketio::split_payload(body)) {
    if (sessions_.find(sid) == sessions_.end()) return true;  // closed meanwhile
    switch (packet[0]) {
      case ::lss::socketio::kPong:
        s.awaiting_pong = false;
        s.last_pong = Clock::now();
        break;
      case ::lss::socketio::kMessage:
        on_socketio(s, packet.substr(1));
        break;
      case ::lss::socketio::kClose:
        close(sid, "closed by the client");
        return true;
      case ::lss::socketio::kPing:  // not used by v4 clients; answer anyway
        send(s, "3" + std::string(packet.substr(1)));
        break;
      default:
        spdlog::info("socket.io: session {}: unexpected packet type '{}'", sid, packet[0]);
        return false;
    }
  }
  return true;
}

void SocketIoServer::on_socketio(Session& s, std::string_view text) {
  auto parsed = ::lss::socketio::parse_packet(text);
  if (!parsed.ok()) {
    spdlog::info("socket.io: session {}: {}", s.sid, parsed.error().message);
    return close(s.sid, "malformed Socket.IO packet");
  }
  ::lss::socketio::Packet& p = parsed.value();
  json data = p.json.empty() ? json() : json::parse(p.json, nullptr, false);
  if (data.is_discarded()) return close(s.sid, "malformed Socket.IO JSON");
  if (p.type == ::lss::socketio::kConnect) {
    std::string key = s.query_key;
    if (data.is_object()) {
      for (const char* k : {"key", "streamKey", "token"}) {
        if (data.contains(k) && data[k].is_string()) key = data[k].get<std::string>();
      }
    }
    const auto decision = authorize_publish(options_.stream_key, key, s.remote);
    if (decision != AuthDecision::kAllowed) {
      const char* why = decision == AuthDecision::kMissingKey ? "missing stream key"
                        : decision == AuthDecision::kWrongKey
                            ? "wrong stream key"
                            : "STREAM_KEY is not set: only local app servers may connect";
      spdlog::warn("socket.io: session {} refused: {}", s.sid, why);
      send(s, ::lss::socketio::encode_message({::lss::socketio::kConnectError, p.nsp, std::nullopt,
                                               json{{"message", why}}.dump()}));
      return;
    }
    const std::string socket_id = random_hex(10);
    s.namespaces[p.nsp] = socket_id;
    socket_to_sid_[socket_id] = s.sid;
    send(s, ::lss::socketio::encode_message(
                {::lss::socketio::kConnect, p.nsp, std::nullopt, json{{"sid", socket_id}}.dump()}));
    return;
  }
  auto ns = s.namespaces.find(p.nsp);
  if (ns == s.namespaces.end()) {
    send(s, ::lss::socketio::encode_message({::lss::socketio::kConnectError, p.nsp, std::nullopt,
                                             json{{"message", "not connected"}}.dump()}));
    return;
  }
  if (p.type == ::lss::socketio::kDisconnect) {
    socket_to_sid_.erase(ns->second);
    s.namespaces.erase(ns);
    return;
  }
  if (p.type != ::lss::socketio::kEvent) return;  // acks from the app to our emits: none requested
  if (!data.is_array() || data.empty() || !data[0].is_string())
    return close(s.sid, "malformed event");
  const std::string event = data[0];
  json args = json::array();
  for (size_t i = 1; i < data.size(); ++i) args.push_back(data[i]);
  Ack ack;
  if (p.ack_id) {
    if (s.pending_acks->load() >= options_.max_pending_acks) {
      spdlog::warn("socket.io: session {} from {}: {} acks owed (SOCKETIO_MAX_PENDING_ACKS)", s.sid,
                   s.remote.to_string(), s.pending_acks->load());
      return close(s.sid, "too many events awaiting their ack");
    }
    const std::string sid = s.sid, nsp = p.nsp;
    const uint64_t id = *p.ack_id;
    ack = [this, sid, nsp, id,
           pending = std::make_shared<PendingAck>(s.pending_acks)](const json& reply) {
      auto it = sessions_.find(sid);
      if (it == sessions_.end()) return;
      send(*it->second, ::lss::socketio::encode_message(
                            {::lss::socketio::kAck, nsp, id,
                             (reply.is_array() ? reply : json::array({reply})).dump()}));
    };
  }
  auto h = handlers_.find(event);
  if (h == handlers_.end()) {
    if (ack) ack(json{{"error", "unknown event '" + event + "'"}});
    return;
  }
  h->second(ns->second, args, ack);
}

void SocketIoServer::send(Session& s, std::string packet) {
  if (s.overflowed) return;
  const size_t queued = s.ws ? s.ws->queued_bytes() : s.outbox_bytes;
  if (options_.max_queued_bytes && queued + packet.size() > options_.max_queued_bytes) {
    spdlog::warn(
        "socket.io: session {} from {} does not read what it is sent: {} bytes queued "
        "(SOCKETIO_MAX_QUEUED_BYTES={}); closing it",
        s.sid, s.remote.to_string(), queued, options_.max_queued_bytes);
    s.overflowed = true;
    if (s.ws) s.ws->abort();
    // Not now: a broadcast may be walking the sessions.
    boost::asio::post(io_, [this, sid = s.sid] { close(sid, "its client stopped reading"); });
    return;
  }
  if (s.ws) return s.ws->send(std::move(packet));
  s.outbox_bytes += packet.size();
  s.outbox.push_back(std::move(packet));
  flush(s);
}

void SocketIoServer::flush(Session& s) {
  if (!s.poll || s.outbox.empty()) return;
  std::vector<std::string> packets(s.outbox.begin(), s.outbox.end());
  s.outbox.clear();
  s.outbox_bytes = 0;
  auto respond = std::move(s.poll);
  s.poll = nullptr;
  respond(text(*s.poll_request, http::Status::ok, ::lss::socketio::join_payload(packets)));
}

void SocketIoServer::close(const std::string& sid, const char* why) {
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  spdlog::info("socket.io: session {} closed: {}", sid, why);
  if (s.poll) s.poll(text(*s.poll_request, http::Status::ok, "1"));
  if (s.ws) {
    s.ws->send("1");
    s.ws->close();
  }
  for (const auto& [nsp, socket_id] : s.namespaces) socket_to_sid_.erase(socket_id);
  sessions_.erase(it);
}

void SocketIoServer::broadcast(const std::string& event, const json& arg) {
  const std::string packet = ::lss::socketio::encode_message(
      {::lss::socketio::kEvent, "/", std::nullopt, json::array({event, arg}).dump()});
  for (auto& [sid, s] : sessions_) {
    if (s->namespaces.count("/")) send(*s, packet);
  }
}

void SocketIoServer::emit(const std::string& socket_id, const std::string& event, const json& arg) {
  auto it = socket_to_sid_.find(socket_id);
  if (it == socket_to_sid_.end()) return;
  auto s = sessions_.find(it->second);
  if (s == sessions_.end()) return;
  send(*s->second, ::lss::socketio::encode_message({::lss::socketio::kEvent, "/", std::nullopt,
                                                    json::array({event, arg}).dump()}));
}

void SocketIoServer::tick() {
  const auto now = Clock::now();
  std::vector<std::string> dead;
  for (auto& [sid, s] : sessions_) {
    if (s->awaiting_pong && now - s->last_ping > options_.ping_timeout) {
      dead.push_back(sid);
    } else if (!s->awaiting_pong && now - s->last_ping >= options_.ping_interval) {
      s->awaiting_pong = true;
      s->last_ping = now;
      send(*s, "2");
    }
  }
  for (const auto& sid : dead) close(sid, "ping timeout");
  timer_.expires_after(std::chrono::milliseconds(250));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

}  // namespace lss::signal
