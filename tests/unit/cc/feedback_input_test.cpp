// SendSideBwe fed transport-cc feedback by hand: what a feedback does to
// the estimate (probe results, loss, repeated reports), and that malformed,
// empty, repeated or unknown feedback is ignored and never crashes.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "cc/send_side_bwe.hpp"
#include "rtp/rtcp_packets.hpp"

namespace lss::cc {
namespace {

using std::chrono::microseconds;

const Timestamp kT0 = Timestamp{} + std::chrono::hours(1);

// Feedback for seqs [first, first + n) arriving `spacing` apart from
// `first_arrival_us` (receiver clock), all received.
TransportCcFeedback feedback(uint16_t first, int n, int64_t first_arrival_us, int64_t spacing_us) {
  TransportCcFeedback fb;
  fb.base_seq = first;
  fb.status_count = uint16_t(n);
  fb.reference_time = int32_t((first_arrival_us / 64'000) & 0xFFFFFF);
  int64_t prev = (first_arrival_us / 64'000) * 64'000;
  for (int i = 0; i < n; ++i) {
    const int64_t at = first_arrival_us + i * spacing_us;
    const int32_t delta = int32_t((at - prev) / 250);
    prev += int64_t(delta) * 250;
    fb.packets.push_back({uint16_t(first + i), true, delta});
  }
  return fb;
}

TEST(SendSideBwe, StartsAtTheConfiguredRateWithinBounds) {
  EXPECT_EQ(SendSideBwe().target_bps(), 1'000'000u);
  BweConfig c;
  c.start_bps = 10;
  EXPECT_EQ(SendSideBwe(c).target_bps(), c.min_bps);
  c.start_bps = 1'000'000'000;
  EXPECT_EQ(SendSideBwe(c).target_bps(), c.max_bps);
  c.min_bps = 500'000;
  c.max_bps = 100;  // inverted: the floor wins
  EXPECT_EQ(SendSideBwe(c).target_bps(), 500'000u);
}

TEST(SendSideBwe, InitialProbesAreThreeAndSixTimesTheStart) {
  BweConfig c;
  c.start_bps = 300'000;
  SendSideBwe bwe(c);
  auto first = bwe.probe_to_send(kT0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->bps, 900'000u);
  EXPECT_GE(first->min_packets, 5);
  EXPECT_NEAR(double(first->min_bytes), 900'000 / 8.0 * 0.030, 1);
  EXPECT_FALSE(bwe.probe_to_send(kT0 + milliseconds(10)));  // one cluster at a time
  auto second = bwe.probe_to_send(kT0 + milliseconds(40));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->bps, 1'800'000u);
  EXPECT_NE(second->id, first->id);
  EXPECT_FALSE(bwe.probe_to_send(kT0 + seconds(1)));

  c.initial_probing = false;
  EXPECT_FALSE(SendSideBwe(c).probe_to_send(kT0));
}

TEST(SendSideBwe, ProbeRequestsAboveTheTargetOnly) {
  BweConfig c;
  c.initial_probing = false;
  SendSideBwe bwe(c);
  bwe.request_probe(800'000, kT0);  // below the 1 Mbit/s target: nothing to learn
  EXPECT_FALSE(bwe.probe_to_send(kT0));
  bwe.request_probe(50'000'000, kT0);  // capped at max_bps
  auto p = bwe.probe_to_send(kT0);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->bps, c.max_bps);
  EXPECT_EQ(bwe.stats().probes_sent, 1u);
}

// A probe cluster sent at 3 Mbit/s that the path delivers at 2 Mbit/s:
// the estimate jumps to 95 % of 2 Mbit/s at once.
TEST(SendSideBwe, ProbeResultRaisesTheEstimate) {
  BweConfig c;
  c.initial_probing = false;
  SendSideBwe bwe(c);
  bwe.request_probe(3'000'000, kT0);
  auto p = bwe.probe_to_send(kT0);
  ASSERT_TRUE(p);
  const int n = 10;
  const int64_t send_spacing_us = int64_t(1200) * 8 * 1'000'000 / 3'000'000;  // 3.2 ms
  const int64_t recv_spacing_us = int64_t(1200) * 8 * 1'000'000 / 2'000'000;  // 4.8 ms
  for (int i = 0; i < n; ++i) {
    bwe.on_packet_sent(uint16_t(100 + i), 1200, kT0 + microseconds(i * send_spacing_us), p->id);
  }
  bwe.on_transport_feedback(feedback(100, n, 10'000'000, recv_spacing_us), kT0 + milliseconds(80));
  EXPECT_NEAR(double(bwe.target_bps()), 0.95 * 2e6, 0.03 * 2e6);
  EXPECT_EQ(bwe.stats().last_probe_bps, bwe.target_bps());

  // Feedback for too few packets of a cluster gives no result.
  SendSideBwe other(c);
  other.request_probe(3'000'000, kT0);
  auto q = other.probe_to_send(kT0);
  ASSERT_TRUE(q);
  for (int i = 0; i < n; ++i) {
    other.on_packet_sent(uint16_t(100 + i), 1200, kT0 + microseconds(i * send_spacing_us), q->id);
  }
  other.on_transport_feedback(feedback(100, 2, 10'000'000, recv_spacing_us),
                              kT0 + milliseconds(80));
  EXPECT_LT(other.target_bps(), 1'100'000u);
  EXPECT_EQ(other.stats().last_probe_bps, 0u);
}

TEST(SendSideBwe, RepeatedFeedbackCountsOnce) {
  BweConfig c;
  c.initial_probing = false;
  SendSideBwe once(c), twice(c);
  for (int i = 0; i < 400; ++i) {
    const Timestamp at = kT0 + milliseconds(10 * i);
    once.on_packet_sent(uint16_t(i), 1200, at);
    twice.on_packet_sent(uint16_t(i), 1200, at);
  }
  for (int f = 0; f < 40; ++f) {
    const auto fb = feedback(uint16_t(f * 10), 10, 5'000'000 + f * 100'000, 10'000);
    const Timestamp now = kT0 + milliseconds(100 * f + 150);
    once.on_transport_feedback(fb, now);
    twice.on_transport_feedback(fb, now);
    twice.on_transport_feedback(fb, now);
  }
  EXPECT_EQ(once.target_bps(), twice.target_bps());
  EXPECT_EQ(once.acked_bps(), twice.acked_bps());
  EXPECT_GT(once.acked_bps(), 0u);
}

TEST(SendSideBwe, LossReportedThenReceivedIsNotALoss) {
  BweConfig c;
  c.initial_probing = false;
  SendSideBwe bwe(c);
  for (int i = 0; i < 300; ++i) bwe.on_packet_sent(uint16_t(i), 1200, kT0 + milliseconds(10 * i));
  for (int f = 0; f < 30; ++f) {
    // Every tenth packet reported lost first, then received (reordered).
    TransportCcFeedback fb = feedback(uint16_t(f * 10), 10, 5'000'000 + f * 100'000, 10'000);
    TransportCcFeedback late = fb;
    fb.packets[9].received = false;
    late.packets.erase(late.packets.begin(), late.packets.begin() + 9);
    late.base_seq = late.packets[0].seq;
    late.status_count = 1;
    const Timestamp now = kT0 + milliseconds(100 * f + 150);
    bwe.on_transport_feedback(fb, now);
    bwe.on_transport_feedback(late, now + milliseconds(1));
  }
  // 10 % reported lost, all received in the end: counted as no loss, but
  // for a late arrival that comes after its loss window closed.
  EXPECT_LT(bwe.stats().loss_fraction, 0.02);
}

TEST(SendSideBwe, IgnoresEmptyUnknownAndMalformedFeedback) {
  SendSideBwe bwe;
  const uint64_t start = bwe.target_bps();
  // Before anything was sent.
  bwe.on_transport_feedback(feedback(0, 20, 1'000'000, 1000), kT0);
  TransportCcFeedback empty;
  bwe.on_transport_feedback(empty, kT0);
  EXPECT_EQ(bwe.target_bps(), start);

  for (int i = 0; i < 100; ++i) bwe.on_packet_sent(uint16_t(1000 + i), 1200, kT0 + milliseconds(i));
  bwe.on_transport_feedback(empty, kT0 + seconds(1));
  // Never sent: ahead of the newest, far behind, and older than the ring.
  bwe.on_transport_feedback(feedback(1100, 50, 2'000'000, 1000), kT0 + seconds(1));
  bwe.on_transport_feedback(feedback(40'000, 50, 2'000'000, 1000), kT0 + seconds(1));
  bwe.on_transport_feedback(feedback(0, 999, 2'000'000, 1000), kT0 + seconds(1));
  EXPECT_EQ(bwe.target_bps(), start);
  EXPECT_EQ(bwe.acked_bps(), 0u);
  EXPECT_GE(bwe.stats().ignored_feedback_entries, 1099u);

  // Absurd times: extreme deltas and reference times, all lost, huge counts.
  TransportCcFeedback wild = feedback(1000, 100, 0, 0);
  for (size_t i = 0; i < wild.packets.size(); ++i) {
    wild.packets[i].delta_250us = (i % 3 == 0)   ? std::numeric_limits<int32_t>::max()
                                  : (i % 3 == 1) ? std::numeric_limits<int32_t>::min()
                                                 : -32768;
  }
  for (int32_t ref : {0, 0x7FFFFF, -0x800000, std::numeric_limits<int32_t>::min(),
                      std::numeric_limits<int32_t>::max()}) {
    wild.reference_time = ref;
    bwe.on_transport_feedback(wild, kT0 + seconds(2));
  }
  TransportCcFeedback lost = feedback(1000, 100, 0, 0);
  for (auto& p : lost.packets) p.received = false;
  bwe.on_transport_feedback(lost, kT0 + seconds(3));
  const uint64_t t = bwe.target_bps();
  EXPECT_GE(t, BweConfig{}.min_bps);
  EXPECT_LE(t, BweConfig{}.max_bps);

  // Odd side inputs.
  bwe.on_rtt(Duration::zero(), kT0);
  bwe.on_rtt(-seconds(1), kT0);
  bwe.on_rtt(std::chrono::hours(5), kT0);
  bwe.on_loss_report(255, kT0 + seconds(10));
  bwe.on_remb(0, kT0);
  bwe.on_remb(std::numeric_limits<uint64_t>::max(), kT0);
  bwe.on_packet_sent(7, 0, kT0);
  bwe.on_packet_sent(8, std::numeric_limits<size_t>::max(), kT0);
  EXPECT_GE(bwe.target_bps(), BweConfig{}.min_bps);
  EXPECT_LE(bwe.target_bps(), BweConfig{}.max_bps);
}

// Random bytes through the RTCP parser, and random feedback structs, into
// an estimator with packets in flight: whatever comes, nothing breaks.
TEST(SendSideBwe, SurvivesRandomFeedback) {
  uint64_t state = 12345;
  auto rnd = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(state >> 33);
  };
  SendSideBwe bwe;
  Timestamp now = kT0;
  uint16_t seq = 65'000;
  for (int round = 0; round < 2000; ++round) {
    now += milliseconds(5);
    for (int k = 0; k < 3; ++k) bwe.on_packet_sent(seq++, 200 + rnd() % 1200, now);
    if (round % 2 == 0) {
      // A TWCC header (V=2, FMT 15, PT 205) with a random body.
      Bytes b = {0x8F, 205, 0, 0};
      const size_t words = 2 + rnd() % 12;
      for (size_t i = 0; i < words * 4; ++i) b.push_back(uint8_t(rnd()));
      b[2] = uint8_t(words >> 8);
      b[3] = uint8_t(words);
      // Point base_seq near what was sent half the time.
      if (rnd() % 2) store_be16(b.data() + 12, uint16_t(seq - rnd() % 64));
      for_each_rtcp(b, [&](const RtcpPacket& p) {
        if (auto* fb = std::get_if<TransportCcFeedback>(&p)) bwe.on_transport_feedback(*fb, now);
      });
    } else {
      TransportCcFeedback fb;
      fb.base_seq = uint16_t(seq - rnd() % 300);
      fb.reference_time = int32_t(rnd());
      const int n = int(rnd() % 64);
      for (int i = 0; i < n; ++i) {
        fb.packets.push_back({uint16_t(fb.base_seq + (rnd() % 4 ? i : int(rnd()))), rnd() % 5 != 0,
                              int32_t(rnd() % 2000) - 500});
      }
      bwe.on_transport_feedback(fb, now);
    }
    if (round % 50 == 0) bwe.probe_to_send(now);
    ASSERT_GE(bwe.target_bps(), BweConfig{}.min_bps);
    ASSERT_LE(bwe.target_bps(), BweConfig{}.max_bps);
  }
}

}  // namespace
}  // namespace lss::cc
