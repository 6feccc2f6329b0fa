#pragma once
// The Socket.IO control channel for the app server: Engine.IO v4 over HTTP
// long-polling (the open packet offers no upgrade, so an unmodified
// socket.io-client stays on polling), Socket.IO v5 namespaces, events and
// acks. The app proves itself with STREAM_KEY (?key= / ?streamKey= in the
// handshake query, or key/streamKey/token in the CONNECT auth payload).
// Bounded per client: sessions per address (IPv6 /64, loopback exempt),
// packet size, events awaiting their ack per session, and bytes queued for
// a session that does not read.
// Runs on the control thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "http/connection_limiter.hpp"
#include "http/router.hpp"

namespace lss::signal {

class SocketIoServer {
 public:
  using Ack = std::function<void(const nlohmann::json& args)>;  // null when no ack was asked
  using EventHandler =
      std::function<void(const std::string& socket_id, const nlohmann::json& args, Ack ack)>;

  struct Options {
    std::string stream_key;
    std::chrono::milliseconds ping_interval{25000};
    std::chrono::milliseconds ping_timeout{20000};
    // Largest Engine.IO packet (WebSocket message or polling POST body);
    // bigger closes the session. Announced to clients as maxPayload.
    size_t max_payload = 64 * 1024;
    size_t connections_per_address = 50;  // Engine.IO sessions; loopback exempt; 0: no limit
    // Events from one session whose ack the server has not yet answered (a
    // handler may wait on a media worker or PeerJS): past it, the session
    // is closed, so a client cannot pile up work faster than it is done.
    size_t max_pending_acks = 64;
    // Bytes waiting to go to one session (its WebSocket's write queue or
    // its polling outbox): a client that stops reading while events keep
    // coming is closed past it instead of growing the server's memory.
    // 0: no limit.
    size_t max_queued_bytes = 1024 * 1024;
  };

  SocketIoServer(boost::asio::io_context& io, Options options);
  ~SocketIoServer();

  void register_routes(http::Router& router);
  // Takes WebSocket upgrades of /socket.io/ (set as the router's upgrade handler).
  bool take_websocket(http::Request& req, const http::RequestContext& ctx,
                      http::UpgradeStream stream);
  void on(const std::string& event, EventHandler handler) { handlers_[event] = std::move(handler); }
  // Emits `event` with one argument to every connected socket of namespace "/".
  void broadcast(const std::string& event, const nlohmann::json& arg);
  void emit(const std::string& socket_id, const std::string& event, const nlohmann::json& arg);
  size_t sessions() const { return sessions_.size(); }

 private:
  struct Session;
  class WsConnection;
  friend class WsConnection;
  void on_ws_open(const std::shared_ptr<WsConnection>& ws, const std::string& sid,
                  const SocketAddress& remote, const std::string& query_key);
  void on_ws_text(const std::shared_ptr<WsConnection>& ws, std::string_view text);
  void on_ws_closed(const std::shared_ptr<WsConnection>& ws);
  void handle(const http::Request& req, const http::RequestContext& ctx, http::Responder respond);
  void handshake(const http::Request& req, const http::RequestContext& ctx,
                 http::Responder respond);
  bool receive(Session& s, std::string_view body);  // false: protocol error
  void on_socketio(Session& s, std::string_view text);
  void send(Session& s, std::string packet);
  void flush(Session& s);
  void close(const std::string& sid, const char* why);
  void tick();
  std::string open_packet(const std::string& sid, bool can_upgrade) const;
  // A place for a new session from `remote`; nullopt (logged) past the limit.
  std::optional<http::ConnectionLimiter::Slot> admit(const SocketAddress& remote);

  boost::asio::io_context& io_;
  Options options_;
  boost::asio::steady_timer timer_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
  std::map<std::string, std::string> socket_to_sid_;  // Socket.IO socket id -> Engine.IO sid
  std::map<std::string, EventHandler> handlers_;
  http::ConnectionLimiter per_address_;
  http::ConnectionLimiter::Refusals refused_{"socket.io", "sessions",
                                             "SOCKETIO_CONNECTIONS_PER_IP"};
};

}  // namespace lss::signal
