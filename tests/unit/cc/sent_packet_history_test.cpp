#include "cc/sent_packet_history.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>

#include "cc/bwe_types.hpp"
#include "cc/probe_controller.hpp"

namespace lss::cc {
namespace {

using std::chrono::microseconds;
using std::chrono::minutes;

const Timestamp kT0 = Timestamp{} + std::chrono::hours(1);
constexpr size_t kCap = SentPacketHistory::kCapacity;
constexpr int64_t kHalfSpanUs = SentPacketHistory::kTimeSpanUs / 2;  // ~35.8 min

// splitmix64: the same numbers on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t s_;
};

TEST(SentPacketHistory, FitsInEightKibibytes) {
  static_assert(sizeof(SentPacketSlot) == 8);
  EXPECT_EQ(kCap, 1024u);
  EXPECT_EQ(SentPacketHistory::kRingBytes, 8u * 1024);
  // Every id ProbeController hands out can be recorded.
  EXPECT_LE(ProbeController::kMaxId - 1, SentPacketHistory::kMaxProbeCluster);
}

TEST(SentPacketHistory, FindsWhatWasSent) {
  SentPacketHistory h;
  EXPECT_FALSE(h.find(0));  // nothing sent yet
  h.on_sent(10, kT0, 1200, -1);
  h.on_sent(11, kT0 + milliseconds(1), 300, 4);
  const SentPacket p = h.find(11);
  ASSERT_TRUE(p);
  EXPECT_EQ(p.size(), 300u);
  EXPECT_EQ(p.probe_cluster(), 4);
  EXPECT_EQ(p.send_us(), to_us(kT0 + milliseconds(1)));
  EXPECT_FALSE(p.acked());
  EXPECT_FALSE(p.reported_lost());
  ASSERT_TRUE(h.find(10));
  EXPECT_EQ(h.find(10).size(), 1200u);
  EXPECT_EQ(h.find(10).probe_cluster(), -1);
  EXPECT_EQ(h.find(10).send_us(), to_us(kT0));
  EXPECT_FALSE(h.find(12));  // newer than the newest sent
  EXPECT_FALSE(h.find(9));   // never sent
}

TEST(SentPacketHistory, ASendTimeIsCorrectedUntilAcked) {
  SentPacketHistory h;
  h.on_sent(10, kT0, 1200, -1);
  h.on_sent(11, kT0 + milliseconds(5), 1200, 2);
  // The pacer planned 11 for 5 ms; it went at 9 ms.
  h.set_send_time(11, kT0 + milliseconds(9));
  EXPECT_EQ(h.find(11).send_us(), to_us(kT0 + milliseconds(9)));
  EXPECT_EQ(h.find(11).probe_cluster(), 2);  // the rest of the slot stays
  EXPECT_EQ(h.find(10).send_us(), to_us(kT0));
  // Nothing for a number never sent, and an acknowledged packet keeps the
  // time its feedback was read against.
  h.set_send_time(12, kT0 + milliseconds(9));
  EXPECT_FALSE(h.find(12));
  h.find(10).set_acked();
  h.set_send_time(10, kT0 + milliseconds(3));
  EXPECT_EQ(h.find(10).send_us(), to_us(kT0));
}

TEST(SentPacketHistory, FeedbackStateStaysInTheSlot) {
  SentPacketHistory h;
  h.on_sent(65'535, kT0, 1000, 99);
  h.on_sent(0, kT0 + microseconds(7), 1001, -1);
  SentPacket a = h.find(65'535);
  ASSERT_TRUE(a);
  a.set_reported_lost(true);
  EXPECT_TRUE(h.find(65'535).reported_lost());
  EXPECT_FALSE(h.find(65'535).acked());
  EXPECT_FALSE(h.find(0).reported_lost());  // the neighbour is untouched
  h.find(65'535).set_reported_lost(false);
  h.find(65'535).set_acked();
  const SentPacket b = h.find(65'535);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b.acked());
  EXPECT_FALSE(b.reported_lost());
  // The flags share bits with the number and the cluster: those are intact.
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.probe_cluster(), 99);
  EXPECT_EQ(b.send_us(), to_us(kT0));
  EXPECT_EQ(h.find(0).send_us(), to_us(kT0) + 7);
  // Sending the number again (a new packet) starts afresh.
  h.on_sent(65'535, kT0 + microseconds(9), 500, -1);
  EXPECT_FALSE(h.find(65'535).acked());
  EXPECT_EQ(h.find(65'535).size(), 500u);
}

TEST(SentPacketHistory, UnwrapsAcrossManyWraps) {
  SentPacketHistory h;
  uint16_t seq = 65'530;
  int64_t first = -1, last = -1;
  for (int i = 0; i < 200'000; ++i) {  // three wraps
    last = h.on_sent(seq, kT0 + microseconds(i), 1000 + i % 200, -1);
    if (first < 0) first = last;
    ++seq;
    // The recent past is always found, with the right packet.
    if (i > 10 && i % 997 == 0) {
      const SentPacket p = h.find(uint16_t(seq - 5));
      ASSERT_TRUE(p) << i;
      EXPECT_EQ(p.size(), size_t(1000 + (i - 4) % 200));
      EXPECT_EQ(p.send_us(), to_us(kT0) + i - 4);
    }
  }
  EXPECT_EQ(last - first, 199'999);
  const uint16_t newest = uint16_t(seq - 1);
  EXPECT_TRUE(h.find(newest));
  EXPECT_TRUE(h.find(uint16_t(newest - (kCap - 1))));
  EXPECT_FALSE(h.find(uint16_t(newest - kCap)));  // left the ring
  EXPECT_FALSE(h.find(uint16_t(newest - 30'000)));
  EXPECT_FALSE(h.find(uint16_t(newest + 1)));
}

// After each packet, exactly the last kCapacity numbers are found, each with
// its own packet: the one kCapacity numbers back shares the newest's slot
// and must not be reported as (or instead of) it.
TEST(SentPacketHistory, ExactlyTheLastCapacityPacketsAreFound) {
  SentPacketHistory h;
  const uint16_t start = 64'000;
  auto size_of = [](int i) { return size_t(100 + i % 1000); };
  const int n = 3 * 65'536 + 5'000;
  for (int i = 0; i < n; ++i) {
    const uint16_t seq = uint16_t(start + i);
    h.on_sent(seq, kT0 + microseconds(3 * i), size_of(i), -1);
    const SentPacket newest = h.find(seq);
    ASSERT_TRUE(newest) << i;
    ASSERT_EQ(newest.size(), size_of(i));
    if (i >= int(kCap) - 1) {
      const SentPacket oldest = h.find(uint16_t(seq - (kCap - 1)));
      ASSERT_TRUE(oldest) << i;
      ASSERT_EQ(oldest.size(), size_of(i - int(kCap) + 1)) << i;
      ASSERT_EQ(oldest.send_us(), to_us(kT0) + 3 * (i - int(kCap) + 1)) << i;
    }
    ASSERT_FALSE(h.find(uint16_t(seq - kCap))) << i;  // its slot is the newest's now
    ASSERT_FALSE(h.find(uint16_t(seq + 1))) << i;
    if (i % 20'011 == 0 || i == n - 1) {  // now and then, the whole ring and what is behind it
      for (int back = 0; back < int(2 * kCap); ++back) {
        const SentPacket p = h.find(uint16_t(seq - back));
        if (back < int(kCap) && back <= i) {
          ASSERT_TRUE(p) << i << " " << back;
          ASSERT_EQ(p.size(), size_of(i - back));
        } else {
          ASSERT_FALSE(p) << i << " " << back;
        }
      }
    }
  }
  // The same 16-bit number a wrap later is the new packet, never the old one.
  SentPacketHistory w;
  w.on_sent(7, kT0, 111, 3);
  for (int i = 1; i <= 65'536; ++i) w.on_sent(uint16_t(7 + i), kT0 + microseconds(i), 222, -1);
  const SentPacket again = w.find(7);
  ASSERT_TRUE(again);
  EXPECT_EQ(again.size(), 222u);
  EXPECT_EQ(again.probe_cluster(), -1);
  EXPECT_EQ(again.send_us(), to_us(kT0) + 65'536);
}

TEST(SentPacketHistory, SequenceGapsAreNotConfusedWithOldPackets) {
  SentPacketHistory h;
  h.on_sent(0, kT0, 100, -1);
  // Jump ahead by exactly the ring size: slot 0 is reused by 1024, and the
  // skipped numbers were never sent.
  h.on_sent(uint16_t(kCap), kT0, 200, -1);
  EXPECT_EQ(h.find(uint16_t(kCap)).size(), 200u);
  EXPECT_FALSE(h.find(0));
  EXPECT_FALSE(h.find(5));
  // A step back (reordered send order) is recorded without moving the newest.
  h.on_sent(uint16_t(kCap - 1), kT0, 300, -1);
  EXPECT_EQ(h.find(uint16_t(kCap - 1)).size(), 300u);
  EXPECT_EQ(h.unwrap(uint16_t(kCap)), h.newest());
}

// Numbers skipped by forward jumps may share slot and 16-bit number with a
// packet sent 65536 numbers before: that packet must not answer for them.
TEST(SentPacketHistory, SkippedNumbersDoNotFindAPacketAWrapEarlier) {
  SentPacketHistory h;
  for (int i = 0; i < int(kCap); ++i) h.on_sent(uint16_t(i), kT0, 1000 + i, -1);
  // Forward in jumps of less than half the number space (anything bigger
  // reads as a step back), to 65536 + 512: 0-511 of the new cycle skipped.
  h.on_sent(30'000, kT0, 1, -1);
  h.on_sent(60'000, kT0, 2, -1);
  const int64_t top = h.on_sent(512, kT0, 3, -1);
  EXPECT_EQ(h.unwrap(0), top - 512);  // the new cycle's 0, within the ring
  for (int s = 0; s < 512; ++s) EXPECT_FALSE(h.find(uint16_t(s))) << s;
  EXPECT_EQ(h.find(512).size(), 3u);
  EXPECT_FALSE(h.find(513));
}

TEST(SentPacketHistory, AStepBackOlderThanTheRingIsNotRecorded) {
  SentPacketHistory h;
  for (int i = 0; i < 2 * int(kCap); ++i) h.on_sent(uint16_t(i), kT0, 1000, -1);
  // 500 is older than the ring; its slot holds 1524, which stays.
  h.on_sent(500, kT0, 7, -1);
  EXPECT_FALSE(h.find(500));
  ASSERT_TRUE(h.find(uint16_t(500 + kCap)));
  EXPECT_EQ(h.find(uint16_t(500 + kCap)).size(), 1000u);
  EXPECT_EQ(h.unwrap(uint16_t(2 * kCap - 1)), h.newest());
}

TEST(SentPacketHistory, SaturatesOddSizesAndClusterIds) {
  SentPacketHistory h;
  h.on_sent(1, kT0, 1'000'000, 1000);
  EXPECT_EQ(h.find(1).size(), 0xFFFFu);
  EXPECT_EQ(h.find(1).probe_cluster(), -1);
  h.on_sent(2, kT0, 0, SentPacketHistory::kMaxProbeCluster + 1);
  EXPECT_EQ(h.find(2).size(), 0u);
  EXPECT_EQ(h.find(2).probe_cluster(), -1);
  h.on_sent(3, kT0, 65'535, -7);
  EXPECT_EQ(h.find(3).size(), 65'535u);
  EXPECT_EQ(h.find(3).probe_cluster(), -1);
  for (int id = 0; id <= SentPacketHistory::kMaxProbeCluster; ++id) {
    h.on_sent(uint16_t(10 + id), kT0, 1200, id);
    EXPECT_EQ(h.find(uint16_t(10 + id)).probe_cluster(), id);
  }
}

// Six hours at 300 packets/s, starting from a clock that has been running
// for a year: about ten moves of the time base, and every time found is exact.
TEST(SentPacketHistory, SendTimesStayExactOverHours) {
  SentPacketHistory h;
  const Timestamp start = Timestamp{} + std::chrono::hours(24 * 365);
  const int64_t n = 6 * 3600 * 300;
  auto at = [&](int64_t i) { return to_us(start) + i * 3'333 + int64_t(i * 7919 % 1000); };
  uint16_t seq = 12'345;
  for (int64_t i = 0; i < n; ++i, ++seq) {
    h.on_sent(seq, start + microseconds(at(i) - to_us(start)), 1200, -1);
    const SentPacket p = h.find(seq);
    ASSERT_TRUE(p) << i;
    ASSERT_EQ(p.send_us(), at(i)) << i;
    if (i >= int64_t(kCap)) {
      const SentPacket old = h.find(uint16_t(seq - (kCap - 1)));
      ASSERT_TRUE(old) << i;
      ASSERT_EQ(old.send_us(), at(i - int64_t(kCap) + 1)) << i;
    }
  }
  EXPECT_GT(at(n - 1) - at(0), 10 * kHalfSpanUs);
}

// After idling, what is still in the ring by number keeps its exact time
// while it is within ~35.8 min of the newest send, and is reported unknown
// (not given a wrong time) once it is 2^32 µs (~71.6 min) or more behind.
TEST(SentPacketHistory, IdlingForgetsOnlyWhatIsTooOld) {
  SentPacketHistory h;
  for (int i = 0; i < 10; ++i) h.on_sent(uint16_t(i), kT0 + milliseconds(i), 1200, -1);
  Timestamp now = kT0 + minutes(20);
  h.on_sent(10, now, 1200, -1);
  ASSERT_TRUE(h.find(0));
  EXPECT_EQ(h.find(0).send_us(), to_us(kT0));
  EXPECT_EQ(h.find(10).send_us(), to_us(now));

  // Time that steps back (out-of-order send times) is recorded too.
  h.on_sent(11, now - minutes(10), 1200, -1);
  EXPECT_EQ(h.find(11).send_us(), to_us(now - minutes(10)));
  EXPECT_EQ(h.find(0).send_us(), to_us(kT0));

  now += minutes(75);
  h.on_sent(12, now, 1200, -1);
  for (int i = 0; i <= 11; ++i) EXPECT_FALSE(h.find(uint16_t(i))) << i;
  EXPECT_EQ(h.find(12).send_us(), to_us(now));
  // And days later, after a step back of hours, the same.
  now += std::chrono::hours(50);
  h.on_sent(13, now, 1200, -1);
  h.on_sent(14, now - std::chrono::hours(3), 1200, -1);
  EXPECT_FALSE(h.find(12));
  EXPECT_FALSE(h.find(13));  // more than 2^32 µs after the newest send now
  EXPECT_EQ(h.find(14).send_us(), to_us(now - std::chrono::hours(3)));
}

TEST(SentPacketHistory, ExtremeTimesDoNotOverflow) {
  SentPacketHistory h;
  const Timestamp lo = Timestamp::min(), hi = Timestamp::max();
  for (int i = 0; i < 100; ++i) {
    const Timestamp t = i % 3 == 0 ? lo : i % 3 == 1 ? hi : Timestamp{};
    h.on_sent(uint16_t(i), t, 1200, -1);
    ASSERT_TRUE(h.find(uint16_t(i)));
    EXPECT_EQ(h.find(uint16_t(i)).send_us(), to_us(t));
    if (i > 0) {
      EXPECT_FALSE(h.find(uint16_t(i - 1)));  // times apart
    }
  }
}

// Random sending against a plain model: jumps and steps back in number and
// in time, idles of seconds to hours. Whatever is found is exactly what was
// last sent with that number; nothing newer than the newest, older than the
// ring or never sent is found; and a packet whose later send times all stay
// within 2^31 µs of its own is always found.
TEST(SentPacketHistory, MatchesAModelUnderRandomSending) {
  struct Sent {
    int64_t send_us;
    size_t size;
    int cluster;
    int64_t min_later_us, max_later_us;  // send times recorded after it
  };
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Rng rng(seed);
    SentPacketHistory h;
    std::map<int64_t, Sent> model;  // by our own unwrapped number
    int64_t seq = int64_t(rng.below(65'536)), newest = seq;
    int64_t t_us = to_us(kT0);
    int64_t last_recorded_us = t_us;
    for (int step = 0; step < 8'000; ++step) {
      // The number: mostly the next; sometimes a jump or a step back.
      const uint64_t r = rng.below(100);
      if (r < 2) {
        seq = newest + 1 + int64_t(rng.below(30'000));
      } else if (r < 6) {
        seq = newest - int64_t(rng.below(1'500));
      } else {
        seq = newest + 1;
      }
      // The time: mostly a few ms on; sometimes idle, sometimes back.
      const uint64_t q = rng.below(1000);
      if (q < 3) {
        t_us += int64_t(rng.below(uint64_t(3) * 3600 * 1'000'000));  // up to 3 h
      } else if (q < 8) {
        t_us += kHalfSpanUs - 5'000'000 + int64_t(rng.below(10'000'000));  // around the bound
      } else if (q < 20) {
        t_us -= int64_t(rng.below(600'000'000));  // up to 10 min back
      } else {
        t_us += int64_t(rng.below(10'000));
      }
      const size_t size = size_t(rng.below(70'000));
      const int cluster = int(rng.below(140)) - 5;

      h.on_sent(uint16_t(seq), kT0 + microseconds(t_us - to_us(kT0)), size, cluster);
      if (newest - seq < int64_t(kCap)) {  // recorded
        for (auto& [n, s] : model) {
          s.min_later_us = std::min(s.min_later_us, t_us);
          s.max_later_us = std::max(s.max_later_us, t_us);
        }
        const int kept =
            cluster >= 0 && cluster <= SentPacketHistory::kMaxProbeCluster ? cluster : -1;
        model[seq] = {t_us, std::min<size_t>(size, 0xFFFF), kept, t_us, t_us};
        last_recorded_us = t_us;
        if (seq > newest) {
          // Numbers skipped by the jump were never sent.
          model.erase(model.upper_bound(newest), model.find(seq));
          newest = seq;
        }
      }
      model.erase(model.begin(), model.lower_bound(newest - int64_t(kCap) + 1));

      for (int64_t n = newest - int64_t(kCap) - 3; n <= newest + 3; ++n) {
        const SentPacket p = h.find(uint16_t(n));
        const auto it = model.find(n);
        if (it == model.end()) {
          ASSERT_FALSE(p) << "seed " << seed << " step " << step << " n " << n;
          continue;
        }
        const Sent& s = it->second;
        if (p) {
          ASSERT_EQ(p.send_us(), s.send_us) << "seed " << seed << " step " << step;
          ASSERT_EQ(p.size(), s.size);
          ASSERT_EQ(p.probe_cluster(), s.cluster);
          ASSERT_LT(std::abs(last_recorded_us - s.send_us), SentPacketHistory::kTimeSpanUs);
        } else {
          // Dropped when the time base moved: only if a later send time
          // was 2^31 µs or more away from its own.
          ASSERT_TRUE(s.max_later_us - s.send_us > kHalfSpanUs ||
                      s.send_us - s.min_later_us >= kHalfSpanUs)
              << "seed " << seed << " step " << step << " n " << n;
        }
      }
    }
  }
}

}  // namespace
}  // namespace lss::cc
