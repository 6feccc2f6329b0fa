#include <gtest/gtest.h>

#include "cc/probe_bitrate_estimator.hpp"
#include "cc/probe_controller.hpp"

namespace lss::cc {
namespace {

const Timestamp kT0 = Timestamp{} + std::chrono::hours(1);
using std::chrono::milliseconds;

// A cluster of n 1200-byte packets sent `send_us` apart, received `recv_us` apart.
std::optional<uint64_t> cluster(ProbeBitrateEstimator& est, int id, int n, int64_t send_us,
                                int64_t recv_us) {
  std::optional<uint64_t> r;
  for (int i = 0; i < n; ++i)
    r = est.on_packet(id, 1'000'000 + i * send_us, 5'000'000 + i * recv_us, 1200);
  return r;
}

TEST(ProbeBitrateEstimator, SaturatedLinkGivesNinetyFivePercentOfTheReceiveRate) {
  ProbeBitrateEstimator est;
  est.add_cluster(1, 5, 7500, 1'000'000);
  auto r = cluster(est, 1, 10, 3'200, 4'800);  // sent at 3 Mbit/s, received at 2
  ASSERT_TRUE(r);
  EXPECT_NEAR(double(*r), 0.95 * 2e6, 1'000);
}

TEST(ProbeBitrateEstimator, UnsaturatedLinkGivesTheSendRate) {
  ProbeBitrateEstimator est;
  est.add_cluster(1, 5, 7500, 1'000'000);
  auto r = cluster(est, 1, 10, 4'800, 4'700);  // received a bit faster than sent
  ASSERT_TRUE(r);
  EXPECT_NEAR(double(*r), 2e6, 1'000);
}

TEST(ProbeBitrateEstimator, RejectsIncompleteOrImplausibleClusters) {
  ProbeBitrateEstimator est;
  est.add_cluster(1, 5, 12'000, 1'000'000);
  EXPECT_FALSE(cluster(est, 1, 3, 3'200, 4'800));  // 3 of 5 packets
  est.add_cluster(2, 5, 100'000, 1'000'000);
  EXPECT_FALSE(cluster(est, 2, 10, 3'200, 4'800));  // 12 kB of 100 kB
  est.add_cluster(3, 5, 6'000, 1'000'000);
  EXPECT_FALSE(cluster(est, 3, 10, 3'200, 1'000));  // received 3x faster than sent
  est.add_cluster(4, 5, 6'000, 1'000'000);
  EXPECT_FALSE(cluster(est, 4, 10, 0, 4'800));      // all sent at once
  EXPECT_FALSE(cluster(est, 9, 10, 3'200, 4'800));  // never handed out
}

TEST(ProbeBitrateEstimator, KeepsAFixedNumberOfClusters) {
  ProbeBitrateEstimator est;
  for (int id = 0; id < 50; ++id) est.add_cluster(id, 5, 6'000, id * 1000);
  EXPECT_FALSE(cluster(est, 0, 10, 3'200, 4'800));  // evicted
  EXPECT_TRUE(cluster(est, 49, 10, 3'200, 4'800));
}

TEST(ProbeController, HandsOutClustersOneAtATime) {
  ProbeController pc;
  EXPECT_FALSE(pc.next(kT0));
  for (uint64_t bps : {1'000'000u, 2'000'000u, 3'000'000u, 4'000'000u, 5'000'000u}) pc.request(bps);
  EXPECT_EQ(pc.queued(), ProbeController::kMaxQueued);  // the fifth was dropped
  auto a = pc.next(kT0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->bps, 1'000'000u);
  EXPECT_EQ(a->min_bytes, 3'750u);  // 30 ms at 1 Mbit/s
  EXPECT_EQ(a->min_packets, 5);
  EXPECT_FALSE(pc.next(kT0 + milliseconds(20)));
  auto b = pc.next(kT0 + milliseconds(40));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->bps, 2'000'000u);
  EXPECT_NE(a->id, b->id);
  pc.clear();
  EXPECT_FALSE(pc.next(kT0 + std::chrono::seconds(1)));
}

TEST(ProbeController, IdsCycle) {
  ProbeController pc;
  Timestamp now = kT0;
  for (int i = 0; i < 250; ++i) {
    pc.request(1'000'000);
    auto c = pc.next(now += milliseconds(100));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->id, i % ProbeController::kMaxId);
  }
}

}  // namespace
}  // namespace lss::cc
