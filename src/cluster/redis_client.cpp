#include "cluster/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>

namespace lss::cluster {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

RedisReply copy(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.kind = RedisReply::Kind::kString;
      break;
    case REDIS_REPLY_STATUS:
      out.kind = RedisReply::Kind::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      out.kind = RedisReply::Kind::kError;
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = RedisReply::Kind::kInteger;
      out.integer = r->integer;
      return out;
    case REDIS_REPLY_ARRAY:
      out.kind = RedisReply::Kind::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy(r->element[i]));
      return out;
    default:
      return out;  // nil
  }
  if (r->str) out.str.assign(r->str, r->len);
  return out;
}

}  // namespace

RedisClient::RedisClient(RedisUrl url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout) {}

RedisClient::~RedisClient() {
  drop();
}

void RedisClient::drop() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

Status RedisClient::connect() {
  const timeval tv = to_timeval(timeout_);
  redisContext* c = url_.socket_path.empty()
                        ? redisConnectWithTimeout(url_.host.c_str(), url_.port, tv)
                        : redisConnectUnixWithTimeout(url_.socket_path.c_str(), tv);
  if (!c) return make_error("redis " + url_.redacted() + ": out of memory");
  if (c->err) {
    std::string why = c->errstr;
    redisFree(c);
    return make_error("redis " + url_.redacted() + ": " + why);
  }
  redisSetTimeout(c, tv);  // for replies too: a hung Redis must not hang the caller
  if (url_.socket_path.empty()) redisEnableKeepAlive(c);
  ctx_ = c;
  std::vector<std::vector<std::string>> hello;
  if (!url_.password.empty()) {
    hello.push_back(url_.user.empty() ? std::vector<std::string>{"AUTH", url_.password}
                                      : std::vector<std::string>{"AUTH", url_.user, url_.password});
  }
  if (url_.db) hello.push_back({"SELECT", std::to_string(url_.db)});
  for (const auto& args : hello) {
    auto r = checked(args);
    if (!r.ok()) {
      drop();
      return make_error("redis " + url_.redacted() + ": " + args[0] + ": " + r.error().message);
    }
  }
  return {};
}

Result<RedisReply> RedisClient::command(const std::vector<std::string>& args) {
  if (args.empty()) return make_error("redis: an empty command");
  if (!ctx_) {
    if (auto st = connect(); !st) return make_error(st.message());
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* reply =
      static_cast<redisReply*>(redisCommandArgv(ctx_, int(argv.size()), argv.data(), lens.data()));
  if (!reply) {
    // The context is unusable after an I/O error or a timeout (a late
    // reply would answer the next command): start over next time.
    std::string why = ctx_->errstr[0] ? ctx_->errstr : "no reply";
    drop();
    return make_error("redis " + url_.redacted() + ": " + args[0] + ": " + why);
  }
  RedisReply out = copy(reply);
  freeReplyObject(reply);
  return out;
}

Result<std::optional<RedisReply>> RedisClient::next_push(std::chrono::milliseconds wait) {
  if (!ctx_) return make_error("redis " + url_.redacted() + ": not connected");
  // hiredis's own read would fail the context at its timeout; a poll()
  // first waits without harming it.
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(ctx_, &raw) != REDIS_OK) break;
    if (raw) {
      auto* reply = static_cast<redisReply*>(raw);
      RedisReply out = copy(reply);
      freeReplyObject(reply);
      return std::optional<RedisReply>(std::move(out));
    }
    pollfd p{ctx_->fd, POLLIN, 0};
    const int n = ::poll(&p, 1, int(std::max<int64_t>(0, wait.count())));
    if (n == 0) return std::optional<RedisReply>();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || redisBufferRead(ctx_) != REDIS_OK) break;
    wait = std::chrono::milliseconds(0);  // what arrived is read; no second wait
  }
  std::string why = ctx_->errstr[0] ? ctx_->errstr : "connection lost";
  drop();
  return make_error("redis " + url_.redacted() + ": " + why);
}

Result<RedisReply> RedisClient::checked(const std::vector<std::string>& args) {
  auto r = command(args);
  if (r.ok() && r->error()) return make_error(r->str);
  return r;
}

}  // namespace lss::cluster
