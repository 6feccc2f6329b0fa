#include "cluster/stream_lease.hpp"

#include <algorithm>

namespace lss::cluster {
namespace {

// Compare-and-act on the owner, atomic in Redis.
constexpr const char* kRenew =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
constexpr const char* kRelease =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) else return 0 end";

std::string millis(std::chrono::milliseconds ttl) {
  return std::to_string(std::max<int64_t>(1, ttl.count()));
}

}  // namespace

Result<LeaseOutcome> StreamLeases::acquire(const std::string& stream, const std::string& node,
                                           std::chrono::milliseconds ttl) {
  auto set = redis_.checked({"SET", key(stream), node, "NX", "PX", millis(ttl)});
  if (!set.ok()) return make_error(set.error().message);
  if (set->is("OK")) return LeaseOutcome{true, node};
  // Held: by this node already (a publisher's retry), or by another one.
  auto held = owner(stream);
  if (!held.ok()) return make_error(held.error().message);
  if (!held->has_value()) {
    // It expired in between: one more try settles it.
    auto again = redis_.checked({"SET", key(stream), node, "NX", "PX", millis(ttl)});
    if (!again.ok()) return make_error(again.error().message);
    if (again->is("OK")) return LeaseOutcome{true, node};
    held = owner(stream);
    if (!held.ok()) return make_error(held.error().message);
    if (!held->has_value()) return make_error("the lease of '" + stream + "' keeps changing hands");
  }
  if (**held == node) {
    auto renewed = renew(stream, node, ttl);
    if (!renewed.ok()) return make_error(renewed.error().message);
    if (*renewed) return LeaseOutcome{true, node};
  }
  return LeaseOutcome{false, **held};
}

Result<bool> StreamLeases::renew(const std::string& stream, const std::string& node,
                                 std::chrono::milliseconds ttl) {
  auto r = redis_.checked({"EVAL", kRenew, "1", key(stream), node, millis(ttl)});
  if (!r.ok()) return make_error(r.error().message);
  return r->integer == 1;
}

Result<bool> StreamLeases::release(const std::string& stream, const std::string& node) {
  auto r = redis_.checked({"EVAL", kRelease, "1", key(stream), node});
  if (!r.ok()) return make_error(r.error().message);
  return r->integer == 1;
}

Result<std::optional<std::string>> StreamLeases::owner(const std::string& stream) {
  auto r = redis_.checked({"GET", key(stream)});
  if (!r.ok()) return make_error(r.error().message);
  if (r->nil()) return std::optional<std::string>{};
  return std::optional<std::string>{r->str};
}

}  // namespace lss::cluster
