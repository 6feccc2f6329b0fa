#include "webhook/retry_policy.hpp"

#include <algorithm>

namespace lss::webhook {

Verdict classify(long status) {
  if (status >= 200 && status < 300) return Verdict::kDelivered;
  if (status == 0 || status >= 500 || status == 408 || status == 429) return Verdict::kRetry;
  return Verdict::kDrop;
}

std::chrono::milliseconds backoff_delay(int failures, double jitter) {
  const int doublings = std::clamp(failures - 1, 0, 20);  // 2^20 s is far past the cap
  const double base = double(kFirstRetryDelay.count()) * double(1LL << doublings);
  const double stretched = base * (1.0 + 0.2 * std::clamp(jitter, 0.0, 1.0));
  return std::chrono::milliseconds(int64_t(std::min(stretched, double(kMaxRetryDelay.count()))));
}

}  // namespace lss::webhook
