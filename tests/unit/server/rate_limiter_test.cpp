// Session-creating requests per client address: a burst, then the rate,
// with the wait to tell a refused client; addresses apart; bounded table.
#include "http/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace lss::http {
namespace {

using std::chrono::milliseconds;

TEST(RateLimiter, BurstThenRateWithTheWait) {
  RateLimiter limiter({/*rate=*/2, /*burst=*/3, /*max_addresses=*/100});
  Timestamp now = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.admit("192.0.2.1", now)) << i;
  auto wait = limiter.admit("192.0.2.1", now);
  ASSERT_TRUE(wait);
  EXPECT_NEAR(std::chrono::duration<double>(*wait).count(), 0.5, 0.01);
  EXPECT_FALSE(limiter.admit("192.0.2.2", now));  // another address has its own
  now += milliseconds(500);
  EXPECT_FALSE(limiter.admit("192.0.2.1", now));  // one token back
  EXPECT_TRUE(limiter.admit("192.0.2.1", now));
  now += std::chrono::seconds(10);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.admit("192.0.2.1", now)) << i;  // full again
  EXPECT_TRUE(limiter.admit("192.0.2.1", now));
}

TEST(RateLimiter, ZeroRateIsNoLimit) {
  RateLimiter limiter({0, 1, 10});
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.admit("a", Clock::now()));
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(RateLimiter, TheTableStaysBounded) {
  RateLimiter limiter({1, 2, 4});
  Timestamp now = Clock::now();
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(limiter.admit("busy" + std::to_string(i), now));
  // Full of addresses that still owe tokens: a new one waits instead of
  // resetting anyone.
  EXPECT_TRUE(limiter.admit("new", now));
  EXPECT_EQ(limiter.tracked(), 4u);
  // Once their buckets are full again they are forgotten.
  now += std::chrono::seconds(5);
  EXPECT_FALSE(limiter.admit("new", now));
  EXPECT_LE(limiter.tracked(), 4u);
}

}  // namespace
}  // namespace lss::http
