#pragma once
// What to do with a receiver's answer, and how long to wait before trying
// the same event again. The queue is strictly in order, so a retried event
// holds back the ones after it: that is what keeps each stream's events in
// order at the receiver.
#include <chrono>

namespace lss::webhook {

enum class Verdict {
  kDelivered,  // 2xx: delete it from the queue
  kRetry,      // no answer (connection error, timeout), 5xx, 408, 429: same event again later
  kDrop,       // any other status: the receiver will never take it; log and move on
};

// `status` 0 means no HTTP answer at all.
Verdict classify(long status);

constexpr std::chrono::milliseconds kFirstRetryDelay{1000};
constexpr std::chrono::milliseconds kMaxRetryDelay{30000};

// The wait after `failures` consecutive failed attempts (1 = the first
// failure): 1 s doubling to at most 30 s, stretched by up to 20 % by
// `jitter` in [0, 1) so receivers that come back are not hit by every
// server at once. Never above kMaxRetryDelay.
std::chrono::milliseconds backoff_delay(int failures, double jitter = 0);

}  // namespace lss::webhook
