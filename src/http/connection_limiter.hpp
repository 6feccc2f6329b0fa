#pragma once
// Open connections per client address (http::client_key: IPv4 address,
// IPv6 /64), so one client cannot take every connection the server has
// (slowloris: many connections, each trickling a request). A connection
// holds a Slot while it lives; past `per_address` a new one gets none and
// is refused. Loopback always gets a slot and is not counted. Slots may be
// released on any thread (a session's last reference can drop on a media
// worker), hence the lock; it is taken once per connection, not per request.
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/log_throttle.hpp"
#include "common/socket_address.hpp"

namespace lss::http {

class ConnectionLimiter {
  struct State {
    size_t per_address;
    bool exempt_loopback;
    std::mutex mutex;
    std::unordered_map<std::string, size_t> open;  // only addresses with a connection
  };

 public:
  // A place for one connection; gives it back when destroyed.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&&) noexcept = default;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }
    void release();

   private:
    friend class ConnectionLimiter;
    Slot(std::shared_ptr<State> state, std::string key)
        : state_(std::move(state)), key_(std::move(key)) {}
    std::shared_ptr<State> state_;  // null: not counted (loopback, no limit, released)
    std::string key_;
  };

  // per_address 0: no limit. exempt_loopback false: loopback counts like
  // any address (tests, where it stands in for remote clients).
  explicit ConnectionLimiter(size_t per_address, bool exempt_loopback = true);

  // A slot for one more connection from `remote`, or nullopt when its
  // address already has `per_address` open.
  std::optional<Slot> acquire(const SocketAddress& remote);
  // acquire(), and a refusal counted and logged at most once per
  // `log_interval` (control thread only), e.g. "http: refused a connection
  // from ...: 50 connections open from ... (HTTP_CONNECTIONS_PER_IP=50); 3
  // refused over that limit since the last such line".
  struct Refusals {
    const char* who;      // "http", "socket.io"
    const char* what;     // "connections", "sessions"
    const char* setting;  // the variable that sets per_address
    LogThrottle log{std::chrono::seconds(10)};
    size_t count = 0;
    const char* one = "a connection";  // what was refused
  };
  std::optional<Slot> admit(const SocketAddress& remote, Refusals& refusals);
  // Whether acquire() would refuse `remote` now.
  bool full(const SocketAddress& remote) const;
  size_t per_address() const { return state_->per_address; }
  size_t open(const SocketAddress& remote) const;  // counted connections of its address
  size_t tracked() const;                          // addresses with a counted connection

 private:
  std::shared_ptr<State> state_;
};

}  // namespace lss::http
