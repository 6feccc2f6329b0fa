#pragma once
// One PeerJS peer: a WebSocket to a PeerJS server (the npm `peer` package)
// registered under one id. It sends the heartbeat the server needs to keep
// it (every 5 s, as peerjs 1.5 does), reconnects with backoff when the
// server goes away or restarts (same id and token, so a server that still
// holds the id reattaches it), and hands every message to its owner.
// Runs on the control thread; all callbacks arrive there.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "peerjs/peerjs_message.hpp"

namespace lss::signal {

struct PeerJsServer {
  std::string host;
  uint16_t port = 9000;
  std::string path = "/";
  std::string key = "peerjs";
  bool secure = false;  // wss:// with the system's CA certificates
};

struct PeerJsTiming {
  std::chrono::milliseconds heartbeat{5000};
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds connect_timeout{10000};
};

class PeerJsClient : public std::enable_shared_from_this<PeerJsClient> {
 public:
  struct Handlers {
    std::function<void()> on_open;  // registered (again after each reconnect)
    std::function<void(const peerjs::Message&)> on_message;
    // The server refused the id or key for good (ID-TAKEN, INVALID-KEY,
    // "Invalid key"): the client has stopped.
    std::function<void(const std::string& why)> on_fatal;
  };
  using Timing = PeerJsTiming;

  static std::shared_ptr<PeerJsClient> create(boost::asio::io_context& io, PeerJsServer server,
                                              std::string id, Handlers handlers,
                                              Timing timing = {});
  ~PeerJsClient();

  void start();
  // Queues a frame; frames queued while disconnected go out once the socket
  // is back (bounded: the oldest are dropped beyond kMaxQueued).
  void send(std::string frame);
  // Closes the socket (the server then forgets the id); no callbacks after.
  void stop();

  const std::string& id() const { return id_; }
  bool registered() const { return registered_; }
  // Why the last connection attempt failed or dropped (empty if none did).
  const std::string& last_error() const { return last_error_; }
  static constexpr size_t kMaxQueued = 256;

 private:
  struct Socket;
  PeerJsClient(boost::asio::io_context& io, PeerJsServer server, std::string id, Handlers handlers,
               Timing timing);
  void connect();
  void on_connected();
  void read();
  void on_frame(std::string_view text);
  void write_next();
  void heartbeat();
  void disconnected(const std::string& why);

  boost::asio::io_context& io_;
  PeerJsServer server_;
  std::string id_, token_, last_error_;
  Handlers handlers_;
  Timing timing_;
  std::unique_ptr<Socket> socket_;
  boost::asio::steady_timer heartbeat_timer_, retry_timer_;
  std::deque<std::string> queue_;
  std::chrono::milliseconds backoff_;
  uint64_t generation_ = 0;  // bumps per connection, so stale completions are ignored
  bool connected_ = false, writing_ = false, registered_ = false, stopped_ = false;
};

}  // namespace lss::signal
