#pragma once
// Requests per client address: a token bucket per address (`rate` a
// second, up to `burst` at once). What creates sessions (WHIP/WHEP POST)
// asks before doing any work; a refused client is told when a token will be
// there (429 with Retry-After). The table of addresses is bounded: idle
// buckets (full again) are forgotten first, and past `max_addresses` the
// new address is refused rather than anyone's bucket reset.
// Single-threaded (the control thread).
#include <optional>
#include <string>
#include <unordered_map>

#include "common/time.hpp"

namespace lss::http {

class RateLimiter {
 public:
  struct Options {
    double rate = 10;   // tokens a second; 0: no limit
    double burst = 20;  // bucket size
    size_t max_addresses = 100000;
  };
  explicit RateLimiter(Options options) : options_(options) {}

  // Takes a token of `address`'s bucket: nullopt when there was one, else
  // how long until there is.
  std::optional<Duration> admit(const std::string& address, Timestamp now);
  size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    Timestamp updated;
  };
  void refill(Bucket& b, Timestamp now) const;
  void forget_full(Timestamp now);

  Options options_;
  std::unordered_map<std::string, Bucket> buckets_;
  Timestamp last_sweep_{};
};

}  // namespace lss::http
