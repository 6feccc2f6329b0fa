// Pacing: BurstPacer's release times (a burst's head at once, the rest at
// the pacing rate, never out of order, never more than kMaxDelay late),
// PacedSends' wheel (held datagrams leave at their time, in order, none
// lost when the pool is full), and MediaWorker::send_at through the kernel.
#include "net/paced_sends.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "loopback_receiver.hpp"
#include "net/media_worker.hpp"
#include "sfu/burst_pacer.hpp"

namespace lss {
namespace {

using std::chrono::microseconds;

double ms_between(Timestamp a, Timestamp b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

TEST(BurstPacer, UnpacedWithoutARate) {
  sfu::BurstPacer p;
  const Timestamp t0 = Clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(p.release(1200, t0, 0), t0);
}

TEST(BurstPacer, SendsTheHeadOfABurstAtOnceAndSpreadsTheRest) {
  sfu::BurstPacer p;
  const Timestamp t0 = Clock::now();
  // 100 packets of 1200 bytes at 9.6 Mbit/s: 1 ms each on the wire.
  std::vector<Timestamp> at;
  for (int i = 0; i < 100; ++i) at.push_back(p.release(1200, t0, 9'600'000));
  // The first kBurst (5 ms: 6 packets, the 6th starting at 5 ms) go now.
  for (int i = 0; i <= 5; ++i) EXPECT_EQ(at[size_t(i)], t0) << i;
  // Then one per millisecond, in order: packet i starts at i ms, leaves 5 ms
  // before (the burst allowance).
  for (int i = 6; i < 80; ++i) EXPECT_NEAR(ms_between(t0, at[size_t(i)]), i - 5, 0.01) << i;
  for (size_t i = 1; i < at.size(); ++i) EXPECT_GE(at[i], at[i - 1]);
  // Never more than kMaxDelay (80 ms) behind.
  for (const Timestamp& t : at) EXPECT_LE(ms_between(t0, t), 80.0);
  // Time passing drains the bucket: 200 ms later a packet goes at once.
  EXPECT_EQ(p.release(1200, t0 + std::chrono::milliseconds(200), 9'600'000),
            t0 + std::chrono::milliseconds(200));
}

TEST(BurstPacer, AfterHeldIsRightBehindTheLastHeldPacket) {
  sfu::BurstPacer p;
  const Timestamp t0 = Clock::now();
  EXPECT_EQ(p.after_held(t0), t0);
  // Within the burst allowance nothing is held.
  p.release(1200, t0, 9'600'000);
  EXPECT_EQ(p.after_held(t0), t0);
  // 20 packets at 1 ms each: the last leaves at 15 ms.
  Timestamp last{};
  for (int i = 0; i < 20; ++i) last = p.release(1200, t0, 9'600'000);
  EXPECT_NEAR(ms_between(t0, last), 15.0, 0.01);
  EXPECT_EQ(p.after_held(t0), last);
  EXPECT_EQ(p.after_held(last + microseconds(1)), last + microseconds(1));
  // It charges nothing: the next paced packet is where it would have been.
  const Timestamp next = p.release(1200, t0, 9'600'000);
  EXPECT_NEAR(ms_between(last, next), 1.0, 0.01);
}

TEST(PacedSends, ReleasesInOrderAtTheirTimes) {
  net::PacedSends w;
  const Timestamp t0 = Clock::now();
  const auto a = SocketAddress::ipv4(0x7f000001, 1000);
  const auto b = SocketAddress::ipv4(0x7f000001, 2000);
  // a: 0..9 at 1 ms steps from 2 ms; b: 0..9 at 3 ms steps from 1 ms.
  for (uint8_t i = 0; i < 10; ++i) {
    const Bytes d(100, i);
    ASSERT_TRUE(w.hold(d, a, t0 + microseconds(2000 + 1000 * i), t0, 100 + i));
    ASSERT_TRUE(w.hold(d, b, t0 + microseconds(1000 + 3000 * i), t0, 200 + i));
  }
  EXPECT_EQ(w.held(), 20u);
  std::vector<uint8_t> got_a, got_b;
  auto take = [&](ByteSpan d, const SocketAddress& to, uint32_t tag, Timestamp) {
    (to == a ? got_a : got_b).push_back(d[0]);
    EXPECT_EQ(d.size(), 100u);
    EXPECT_EQ(tag, (to == a ? 100u : 200u) + d[0]);  // each datagram's own tag
  };
  w.release_due(t0, take);  // nothing due yet (the first is at 1 ms)
  EXPECT_EQ(got_a.size() + got_b.size(), 0u);
  w.release_due(t0 + microseconds(6000), take);
  // Due by 6 ms (at 1 ms granularity): a 0..4, b 0..1.
  EXPECT_GE(got_a.size(), 4u);
  EXPECT_LE(got_a.size(), 5u);
  EXPECT_EQ(got_b.size(), 2u);
  w.release_due(t0 + microseconds(40000), take);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(got_a, (std::vector<uint8_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(got_b, (std::vector<uint8_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(PacedSends, AFullPoolRefusesWithoutLosingWhatItHolds) {
  net::PacedSends w;
  const Timestamp t0 = Clock::now();
  const auto a = SocketAddress::ipv4(0x7f000001, 1000);
  const Bytes d(10, 7);
  for (size_t i = 0; i < net::PacedSends::kSlots; ++i)
    ASSERT_TRUE(w.hold(d, a, t0 + std::chrono::milliseconds(5), t0));
  EXPECT_FALSE(w.hold(d, a, t0 + std::chrono::milliseconds(5), t0));
  EXPECT_EQ(w.counters().full, 1u);
  // Too large for a slot: refused too.
  EXPECT_FALSE(w.hold(Bytes(net::PacedSends::kSlotSize + 1, 0), a, t0, t0));
  size_t sent = 0;
  w.release_due(t0 + std::chrono::milliseconds(10),
                [&](ByteSpan, const SocketAddress&, uint32_t, Timestamp) { ++sent; });
  EXPECT_EQ(sent, net::PacedSends::kSlots);
  // The slots are free again; a time far beyond the wheel is clamped to it.
  ASSERT_TRUE(w.hold(d, a, t0 + std::chrono::seconds(10), t0 + std::chrono::milliseconds(10)));
  sent = 0;
  w.release_due(t0 + std::chrono::milliseconds(10 + int(net::PacedSends::kBuckets)),
                [&](ByteSpan, const SocketAddress&, uint32_t, Timestamp) { ++sent; });
  EXPECT_EQ(sent, 1u);
}

TEST(MediaWorkerPacing, HeldDatagramsArriveLaterAndInOrder) {
  net::testing::Receiver receiver;
  const auto to = receiver.address();

  net::MediaWorker worker(0, 0);
  ASSERT_TRUE(worker.open());
  worker.set_pacing(true);
  worker.set_handlers([](uint8_t*, size_t, const SocketAddress&, Timestamp) {}, [](Timestamp) {},
                      std::chrono::milliseconds(20));
  // Each held datagram's tag comes back when it goes, with when it went.
  std::vector<std::pair<uint32_t, Timestamp>> released;
  worker.set_release_handler([&](const SocketAddress& dest, uint32_t tag, Timestamp at) {
    EXPECT_EQ(dest, to);
    released.emplace_back(tag, at);
  });
  worker.start();
  Timestamp posted{};
  // 20 datagrams: the first 5 at once, the rest 2 ms apart from 10 ms on.
  boost::asio::post(worker.io(), [&] {
    posted = Clock::now();
    for (uint8_t i = 0; i < 20; ++i) {
      const Bytes d(200, i);
      if (i < 5) {
        worker.send(d, to);
      } else {
        worker.send_at(d, to, posted + std::chrono::milliseconds(10 + 2 * (i - 5)), 1000u + i);
      }
    }
    worker.flush();
  });
  std::vector<uint8_t> order;
  std::vector<Timestamp> when;
  for (int i = 0; i < 20; ++i) {
    const auto d = receiver.next();
    ASSERT_EQ(d.size(), 200u) << i;
    order.push_back(d[0]);
    when.push_back(Clock::now());
  }
  worker.stop();
  for (uint8_t i = 0; i < 20; ++i) EXPECT_EQ(order[i], i);
  // The held ones came no earlier than a millisecond before their time.
  EXPECT_GE(ms_between(posted, when[5]), 9.0);
  EXPECT_GE(ms_between(posted, when[19]), 37.0);
  EXPECT_EQ(worker.paced_total(), 15u);
  EXPECT_EQ(worker.paced_held(), 0u);
  // Read after stop(): the worker thread has finished with the vector.
  ASSERT_EQ(released.size(), 15u);
  for (size_t k = 0; k < released.size(); ++k) {
    EXPECT_EQ(released[k].first, 1005u + k);
    // At or after the start of its millisecond on the wheel, and before the
    // receiver saw it.
    EXPECT_GE(ms_between(posted, released[k].second), 9.0 + 2.0 * double(k));
    EXPECT_LE(released[k].second, when[5 + k]);
  }
}

// A forwarded packet that is paced counts in the in-server latency with
// its hold, once; its unpaced copy to another viewer with the batch.
TEST(MediaWorkerPacing, AHeldCopyCountsItsHoldInTheLatencyHistogram) {
  net::testing::Receiver viewer, publisher;
  const auto to = viewer.address();
  net::MediaWorker worker(0, 0);
  ASSERT_TRUE(worker.open());
  worker.set_pacing(true);
  worker.set_handlers(
      [&](uint8_t* data, size_t size, const SocketAddress&, Timestamp now) {
        const Bytes d(data, data + size);
        worker.send(d, to);
        worker.send_at(d, to, now + std::chrono::milliseconds(20), 0);
      },
      [](Timestamp) {}, std::chrono::milliseconds(20));
  worker.start();
  publisher.send_to(worker.port(), std::vector<uint8_t>(100, 7));
  EXPECT_EQ(viewer.next().size(), 100u);
  EXPECT_EQ(viewer.next().size(), 100u);
  worker.stop();
  const auto counts = worker.forwarding_latency().snapshot();
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  EXPECT_EQ(total, 2u);
  EXPECT_LT(net::LatencyHistogram::quantile_us(counts, 0.5), 5'000u);
  EXPECT_GE(net::LatencyHistogram::quantile_us(counts, 1.0), 15'000u);
}

}  // namespace
}  // namespace lss
