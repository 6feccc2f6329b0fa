#include "net/latency_histogram.hpp"

#include <gtest/gtest.h>

namespace lss::net {
namespace {

TEST(LatencyHistogram, BucketsAreQuarterOctavesAndQuantilesTheirUpperBounds) {
  // Every wait lands in a bucket whose upper bound covers it, within 19 %.
  for (uint64_t us : {0ull, 1ull, 7ull, 100ull, 999ull, 12345ull, 2000000ull}) {
    const size_t b = LatencyHistogram::bucket(us);
    EXPECT_GE(LatencyHistogram::upper_us(b), us) << us;
    if (us > 16) {
      EXPECT_LE(double(LatencyHistogram::upper_us(b)), 1.19 * double(us) + 1) << us;
    }
  }
  EXPECT_EQ(LatencyHistogram::bucket(uint64_t(1) << 40), LatencyHistogram::kBuckets - 1);

  LatencyHistogram h;
  EXPECT_EQ(LatencyHistogram::quantile_us(h.snapshot(), 0.5), 0u);
  h.add(100, 98);  // 98 datagrams waited 100 µs
  h.add(5000, 2);  // 2 waited 5 ms
  const auto counts = h.snapshot();
  const uint64_t p50 = LatencyHistogram::quantile_us(counts, 0.5);
  const uint64_t p99 = LatencyHistogram::quantile_us(counts, 0.99);
  EXPECT_GE(p50, 100u);
  EXPECT_LT(p50, 120u);
  EXPECT_GE(p99, 5000u);
  EXPECT_LT(p99, 6000u);
  EXPECT_EQ(LatencyHistogram::quantile_us(counts, 0.98), p50);  // the 98th is still 100 µs
}

}  // namespace
}  // namespace lss::net
