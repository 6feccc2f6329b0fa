// The forwarding-latency histogram as /metrics gives it: octave buckets in
// seconds whose cumulative counts are exact, and its sum.
#include "app/metrics_api.hpp"

#include <gtest/gtest.h>

#include "net/latency_histogram.hpp"

namespace lss {
namespace {

TEST(MetricsApi, LatencyBucketsAreOctavesInSecondsAndExact) {
  net::LatencyHistogram lh;
  lh.add(0, 1);        // under 1 µs
  lh.add(2, 2);        // under 3 µs
  lh.add(100, 3);      // under 127 µs
  lh.add(126, 1);      // still under 127 µs
  lh.add(127, 1);      // not: under 255 µs
  lh.add(1 << 30, 1);  // beyond every bound
  EXPECT_EQ(lh.sum_us(), 0u + 4 + 300 + 126 + 127 + (1u << 30));

  const metrics::Histogram h = latency_seconds(lh.snapshot(), lh.sum_us());
  ASSERT_EQ(h.upper_bounds.size(), net::LatencyHistogram::kBuckets / 4 - 1);
  ASSERT_EQ(h.counts.size(), h.upper_bounds.size() + 1);
  EXPECT_DOUBLE_EQ(h.upper_bounds[0], 1e-6);
  EXPECT_DOUBLE_EQ(h.upper_bounds[1], 3e-6);
  EXPECT_DOUBLE_EQ(h.upper_bounds[6], 127e-6);
  EXPECT_DOUBLE_EQ(h.upper_bounds.back(), 8.388607);  // 2^23 - 1 µs
  EXPECT_EQ(h.counts[0], 1u);
  EXPECT_EQ(h.counts[1], 2u);
  EXPECT_EQ(h.counts[6], 4u);
  EXPECT_EQ(h.counts[7], 1u);
  EXPECT_EQ(h.counts.back(), 1u);
  uint64_t total = 0;
  for (uint64_t c : h.counts) total += c;
  EXPECT_EQ(total, 9u);
  EXPECT_DOUBLE_EQ(h.sum, double(lh.sum_us()) / 1e6);

  // Each count is exactly what falls under its bound: every wait up to the
  // bound's µs minus one lands at or below its octave.
  for (size_t k = 0; k < h.upper_bounds.size(); ++k) {
    const auto bound_us = uint64_t(h.upper_bounds[k] * 1e6 + 0.5);
    EXPECT_LE(net::LatencyHistogram::bucket(bound_us - 1), 4 * k + 3) << k;
    EXPECT_GT(net::LatencyHistogram::bucket(bound_us), 4 * k + 3) << k;
  }
}

}  // namespace
}  // namespace lss
