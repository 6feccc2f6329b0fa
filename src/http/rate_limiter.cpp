#include "http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace lss::http {

void RateLimiter::refill(Bucket& b, Timestamp now) const {
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  if (elapsed > 0) b.tokens = std::min(options_.burst, b.tokens + elapsed * options_.rate);
  b.updated = std::max(b.updated, now);
}

void RateLimiter::forget_full(Timestamp now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    it = it->second.tokens >= options_.burst ? buckets_.erase(it) : std::next(it);
  }
  last_sweep_ = now;
}

std::optional<Duration> RateLimiter::admit(const std::string& address, Timestamp now) {
  if (options_.rate <= 0) return std::nullopt;
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    // A full bucket carries nothing worth keeping: sweep those out now and
    // then, and at once when the table is full.
    if (buckets_.size() >= options_.max_addresses || now - last_sweep_ > std::chrono::seconds(60))
      forget_full(now);
    if (buckets_.size() >= options_.max_addresses) return std::chrono::seconds(1);
    it = buckets_.emplace(address, Bucket{options_.burst, now}).first;
  }
  Bucket& b = it->second;
  refill(b, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  const double wait_s = (1 - b.tokens) / options_.rate;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_s));
}

}  // namespace lss::http
