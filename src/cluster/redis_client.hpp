#pragma once
// A blocking Redis connection (hiredis) for the cluster's coordination:
// node records, stream leases, their renewals. These are a few small
// commands a second on the cluster thread, never on a media path, so a
// plain request/response connection with a timeout is the whole need.
// Not thread-safe: one owner thread.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_url.hpp"
#include "common/result.hpp"

struct redisContext;

namespace lss::cluster {

// One reply, copied out of hiredis. An error reply (-ERR ...) is a value
// of kind kError, not a failed call: the command reached the server.
struct RedisReply {
  enum class Kind { kNil, kString, kStatus, kInteger, kArray, kError };
  Kind kind = Kind::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool nil() const { return kind == Kind::kNil; }
  bool error() const { return kind == Kind::kError; }
  bool is(std::string_view status) const { return kind == Kind::kStatus && str == status; }
};

class RedisClient {
 public:
  explicit RedisClient(RedisUrl url, std::chrono::milliseconds timeout = std::chrono::seconds(2));
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command. Connects first if need be (AUTH, SELECT); after an
  // I/O error or a timeout the connection is dropped and the next call
  // connects again, so a Redis restart costs the calls made while it is down.
  Result<RedisReply> command(const std::vector<std::string>& args);
  // The same, failing on an error reply too (its text as the message).
  Result<RedisReply> checked(const std::vector<std::string>& args);

  // On a connection that SUBSCRIBEd: the next message Redis pushes, or
  // nullopt when none came within `wait` (not an error: the connection
  // stays). An I/O error drops the connection, as command() does.
  Result<std::optional<RedisReply>> next_push(std::chrono::milliseconds wait);

  bool connected() const { return ctx_ != nullptr; }
  const RedisUrl& url() const { return url_; }

 private:
  Status connect();
  void drop();

  RedisUrl url_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
};

}  // namespace lss::cluster
