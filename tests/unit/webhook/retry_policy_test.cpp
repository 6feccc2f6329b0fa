#include "webhook/retry_policy.hpp"

#include <gtest/gtest.h>

namespace lss::webhook {
namespace {

using std::chrono::milliseconds;

TEST(WebhookRetry, ClassifiesAnswers) {
  EXPECT_EQ(classify(200), Verdict::kDelivered);
  EXPECT_EQ(classify(204), Verdict::kDelivered);
  EXPECT_EQ(classify(0), Verdict::kRetry);  // connection refused, timeout
  EXPECT_EQ(classify(500), Verdict::kRetry);
  EXPECT_EQ(classify(503), Verdict::kRetry);
  EXPECT_EQ(classify(408), Verdict::kRetry);
  EXPECT_EQ(classify(429), Verdict::kRetry);
  EXPECT_EQ(classify(400), Verdict::kDrop);
  EXPECT_EQ(classify(401), Verdict::kDrop);
  EXPECT_EQ(classify(404), Verdict::kDrop);
  EXPECT_EQ(classify(410), Verdict::kDrop);
  EXPECT_EQ(classify(301), Verdict::kDrop);  // not followed: a POST must not wander
}

TEST(WebhookRetry, BackoffDoublesFromOneSecond) {
  EXPECT_EQ(backoff_delay(1), milliseconds(1000));
  EXPECT_EQ(backoff_delay(2), milliseconds(2000));
  EXPECT_EQ(backoff_delay(3), milliseconds(4000));
  EXPECT_EQ(backoff_delay(5), milliseconds(16000));
}

TEST(WebhookRetry, BackoffIsCappedAtThirtySeconds) {
  EXPECT_EQ(backoff_delay(6), milliseconds(30000));
  EXPECT_EQ(backoff_delay(7), milliseconds(30000));
  EXPECT_EQ(backoff_delay(1000), milliseconds(30000));
  EXPECT_EQ(backoff_delay(1 << 30, 0.99), milliseconds(30000));
  for (int n = 1; n < 100; ++n) EXPECT_LE(backoff_delay(n, 0.999), kMaxRetryDelay);
}

TEST(WebhookRetry, JitterStretchesByAtMostAFifth) {
  EXPECT_EQ(backoff_delay(1, 0.5), milliseconds(1100));
  EXPECT_EQ(backoff_delay(3, 1.0), milliseconds(4800));
  EXPECT_EQ(backoff_delay(5, 1.0), milliseconds(19200));
  EXPECT_EQ(backoff_delay(0), milliseconds(1000));  // nonsense in: sane out
  EXPECT_EQ(backoff_delay(2, -3), milliseconds(2000));
}

}  // namespace
}  // namespace lss::webhook
