// TwccRecorder across consecutive feedbacks: every transport-wide sequence
// number is reported once (received with its arrival time, or not received),
// including losses at the end of a feedback interval, 16-bit wrap-around,
// reordering, long loss bursts and the split into several feedback packets.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <vector>

#include "rtp/rtcp_packets.hpp"
#include "rtp/twcc_feedback_builder.hpp"

namespace lss {
namespace {

using std::chrono::microseconds;

const Timestamp kT0 = Timestamp{} + std::chrono::seconds(100);

int64_t us_of(Timestamp t) {
  return std::chrono::duration_cast<microseconds>(t.time_since_epoch()).count();
}

struct Status {
  uint16_t seq;
  bool received;
  int64_t arrival_us;  // reference time + the deltas so far, when received
};

struct Feedback {
  uint16_t base_seq;
  int32_t reference_time;
  uint8_t feedback_count;
  std::vector<TransportCcFeedback::Packet> packets;
  std::vector<Status> statuses;
};

// Parses what build_feedback produced, one Feedback per RTCP packet.
std::vector<Feedback> parse(const std::vector<Bytes>& out) {
  std::vector<Feedback> fbs;
  for (const Bytes& b : out) {
    size_t n = 0;
    EXPECT_TRUE(for_each_rtcp(b, [&](const RtcpPacket& p) {
      ASSERT_TRUE(std::holds_alternative<TransportCcFeedback>(p));
      const auto& tc = std::get<TransportCcFeedback>(p);
      Feedback fb{tc.base_seq, tc.reference_time, tc.feedback_count, tc.packets, {}};
      int64_t t = int64_t(tc.reference_time) * 64000;
      for (const auto& pk : tc.packets) {
        if (pk.received) t += int64_t(pk.delta_250us) * 250;
        fb.statuses.push_back({pk.seq, pk.received, pk.received ? t : 0});
      }
      fbs.push_back(std::move(fb));
      ++n;
    }));
    EXPECT_EQ(n, 1u);
  }
  return fbs;
}

// Drives a recorder packet by packet and keeps everything it reported.
struct Harness {
  TwccRecorder rec;
  std::vector<Feedback> feedbacks;
  std::map<uint16_t, int> times_reported;
  std::map<uint16_t, int> times_reported_lost;

  std::vector<Feedback> flush(Timestamp now) {
    auto fbs = parse(rec.build_feedback(1, 2, now));
    for (const auto& fb : fbs) {
      EXPECT_FALSE(fb.packets.empty());
      EXPECT_LE(fb.packets.size(), TwccRecorder::kMaxPerPacket);
      for (const auto& s : fb.statuses) {
        ++times_reported[s.seq];
        if (!s.received) ++times_reported_lost[s.seq];
      }
      feedbacks.push_back(fb);
    }
    return fbs;
  }
};

TEST(TwccRecorder, RandomLossIsReportedOncePerSequenceNumber) {
  // 10 000 packets, one per millisecond, 15 % lost at random, a feedback
  // every 50 ms; the sequence numbers wrap at 65535 half-way through.
  constexpr int kPackets = 10000;
  constexpr uint16_t kFirst = 60000;
  std::mt19937 rng(20240611);
  std::bernoulli_distribution lost(0.15);
  Harness h;
  std::vector<bool> was_lost(kPackets);
  std::map<uint16_t, int64_t> arrival;
  int last_received = 0;
  for (int i = 0; i < kPackets; ++i) {
    const Timestamp t = kT0 + microseconds(1000 * i + (i * 37) % 300);  // some jitter
    was_lost[i] = i > 0 && lost(rng);                                   // the first one arrives
    if (!was_lost[i]) {
      h.rec.record(uint16_t(kFirst + i), t);
      arrival[uint16_t(kFirst + i)] = us_of(t);
      last_received = i;
    }
    if (i % 50 == 49) h.flush(t);
  }
  h.flush(kT0 + std::chrono::seconds(11));

  int reported_lost = 0, truly_lost = 0;
  for (int i = 0; i <= last_received; ++i) {
    const uint16_t seq = uint16_t(kFirst + i);
    ASSERT_EQ(h.times_reported[seq], 1) << "seq " << seq;
    truly_lost += was_lost[i];
    reported_lost += h.times_reported_lost[seq];
    EXPECT_EQ(h.times_reported_lost[seq] == 1, bool(was_lost[i])) << "seq " << seq;
  }
  // Nothing after the last received one (it may still arrive) nor before the first.
  EXPECT_EQ(h.times_reported.size(), size_t(last_received + 1));
  EXPECT_EQ(reported_lost, truly_lost);
  const double fraction = double(reported_lost) / double(last_received + 1);
  EXPECT_NEAR(fraction, 0.15, 0.01);

  // Feedback packets follow each other without gaps or overlaps.
  uint16_t expected_base = kFirst;
  uint8_t count = h.feedbacks.front().feedback_count;
  for (const auto& fb : h.feedbacks) {
    EXPECT_EQ(fb.base_seq, expected_base);
    EXPECT_EQ(fb.feedback_count, count++);
    expected_base = uint16_t(expected_base + fb.packets.size());
    // Received ones carry their arrival time within half a delta tick.
    for (const auto& s : fb.statuses) {
      if (s.received) {
        EXPECT_LE(std::abs(s.arrival_us - arrival.at(s.seq)), 125) << s.seq;
      }
    }
  }
}

TEST(TwccRecorder, LossesBeforeAFeedbackBoundaryLeadTheNextFeedback) {
  TwccRecorder rec;
  for (uint16_t s = 10; s <= 15; ++s) rec.record(s, kT0 + milliseconds(s));
  // 16 and 17 are lost; the feedback ends at the highest received.
  auto first = parse(rec.build_feedback(1, 2, kT0));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].base_seq, 10);
  ASSERT_EQ(first[0].packets.size(), 6u);
  EXPECT_TRUE(first[0].packets.back().received);

  const Timestamp t18 = kT0 + milliseconds(40);
  rec.record(18, t18);
  rec.record(19, t18 + milliseconds(1));
  auto second = parse(rec.build_feedback(1, 2, kT0));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].base_seq, 16);
  EXPECT_EQ(second[0].feedback_count, uint8_t(first[0].feedback_count + 1));
  ASSERT_EQ(second[0].packets.size(), 4u);
  EXPECT_FALSE(second[0].packets[0].received);
  EXPECT_FALSE(second[0].packets[1].received);
  EXPECT_TRUE(second[0].packets[2].received);
  EXPECT_TRUE(second[0].packets[3].received);
  // The reference time is the first received packet's, not the base's.
  EXPECT_EQ(second[0].reference_time, int32_t(us_of(t18) / 64000));
  EXPECT_EQ(second[0].statuses[2].arrival_us, us_of(t18));
  EXPECT_EQ(second[0].statuses[3].arrival_us, us_of(t18) + 1000);

  EXPECT_TRUE(rec.build_feedback(1, 2, kT0).empty());  // nothing new
}

TEST(TwccRecorder, WrapsAround65535) {
  Harness h;
  for (uint16_t s = 65530; s != 65534; ++s) h.rec.record(s, kT0 + milliseconds(s - 65530));
  auto a = h.flush(kT0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].base_seq, 65530);
  EXPECT_EQ(a[0].packets.size(), 4u);
  // 65534, 65535 and 0 are lost across the wrap and the feedback boundary.
  for (uint16_t s = 1; s <= 5; ++s) h.rec.record(s, kT0 + milliseconds(10 + s));
  auto b = h.flush(kT0);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].base_seq, 65534);
  ASSERT_EQ(b[0].packets.size(), 8u);
  const uint16_t want_seq[] = {65534, 65535, 0, 1, 2, 3, 4, 5};
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(b[0].packets[i].seq, want_seq[i]);
    EXPECT_EQ(b[0].packets[i].received, i >= 3);
  }
  EXPECT_EQ(b[0].statuses[3].arrival_us, us_of(kT0 + milliseconds(11)));

  // Several more wraps with a feedback at every boundary: each once.
  Harness w;
  uint16_t seq = 65000;
  for (int i = 0; i < 3 * 65536; ++i, ++seq) {
    const Timestamp t = kT0 + microseconds(200 * i);
    if (seq % 97 != 5) w.rec.record(seq, t);
    if (i % 250 == 249) {
      for (const auto& fb : w.flush(t)) {
        for (const auto& s : fb.statuses) EXPECT_EQ(s.received, s.seq % 97 != 5);
      }
    }
  }
  for (const auto& fb : w.flush(kT0 + std::chrono::seconds(60))) {
    for (const auto& s : fb.statuses) EXPECT_EQ(s.received, s.seq % 97 != 5);
  }
  uint16_t expected_base = 65000;
  int64_t total = 0;
  for (const auto& fb : w.feedbacks) {
    ASSERT_EQ(fb.base_seq, expected_base);
    expected_base = uint16_t(expected_base + fb.packets.size());
    total += int64_t(fb.packets.size());
  }
  EXPECT_EQ(total, 3 * 65536);  // ended on a received one, flushed at the end
}

TEST(TwccRecorder, ReorderingWithinAnInterval) {
  TwccRecorder rec;
  rec.record(1, kT0);
  rec.record(3, kT0 + milliseconds(1));
  rec.record(2, kT0 + milliseconds(2));
  auto fbs = parse(rec.build_feedback(1, 2, kT0));
  ASSERT_EQ(fbs.size(), 1u);
  ASSERT_EQ(fbs[0].statuses.size(), 3u);
  for (const auto& s : fbs[0].statuses) EXPECT_TRUE(s.received);
  EXPECT_EQ(fbs[0].statuses[1].arrival_us, us_of(kT0 + milliseconds(2)));
  EXPECT_EQ(fbs[0].statuses[2].arrival_us, us_of(kT0 + milliseconds(1)));
  EXPECT_EQ(fbs[0].packets[2].delta_250us, -4);  // 3 arrived before 2
}

TEST(TwccRecorder, LatePacketAlreadyReportedLostIsReportedAgainAsReceived) {
  // As libwebrtc's receiver does (RemoteEstimatorProxy, "ResendsTimestamps-
  // OnReordering"): the next feedback starts at the late packet again.
  Harness h;
  h.rec.record(100, kT0);
  h.rec.record(102, kT0 + milliseconds(2));
  auto a = h.flush(kT0);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(a[0].statuses.size(), 3u);
  EXPECT_FALSE(a[0].statuses[1].received);  // 101 is missing so far

  h.rec.record(101, kT0 + milliseconds(5));
  h.rec.record(103, kT0 + milliseconds(6));
  auto b = h.flush(kT0);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].base_seq, 101);
  ASSERT_EQ(b[0].statuses.size(), 3u);
  for (const auto& s : b[0].statuses) EXPECT_TRUE(s.received);
  EXPECT_EQ(b[0].statuses[0].arrival_us, us_of(kT0 + milliseconds(5)));
  EXPECT_EQ(b[0].statuses[1].arrival_us, us_of(kT0 + milliseconds(2)));
  EXPECT_EQ(b[0].statuses[2].arrival_us, us_of(kT0 + milliseconds(6)));

  // A duplicate carries nothing new and does not move the start back.
  h.rec.record(100, kT0 + milliseconds(7));
  h.rec.record(101, kT0 + milliseconds(7));
  EXPECT_TRUE(h.flush(kT0).empty());
  h.rec.record(104, kT0 + milliseconds(8));
  auto c = h.flush(kT0);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].base_seq, 104);
  EXPECT_EQ(c[0].statuses.size(), 1u);
}

TEST(TwccRecorder, LatePacketFromBeforeTheFirstAndBeyondTheRing) {
  TwccRecorder rec;
  rec.record(5, kT0);
  rec.record(65534, kT0 + milliseconds(1));  // before the first seen, across the wrap
  auto a = parse(rec.build_feedback(1, 2, kT0));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].base_seq, 65534);
  ASSERT_EQ(a[0].statuses.size(), 8u);
  EXPECT_TRUE(a[0].statuses.front().received);
  EXPECT_TRUE(a[0].statuses.back().received);

  // Far ahead, then a packet older than the ring holds: ignored.
  const uint16_t far = uint16_t(5 + TwccRecorder::kRing + 100);
  rec.record(far, kT0 + milliseconds(10));
  ASSERT_FALSE(rec.build_feedback(1, 2, kT0).empty());
  rec.record(50, kT0 + milliseconds(11));
  EXPECT_TRUE(rec.build_feedback(1, 2, kT0).empty());
}

TEST(TwccRecorder, BurstOf3000LostStartsAtTheOldestTheRingHolds) {
  Harness h;
  int64_t resumed_highest = -1;
  for (int i = 0; i < 5000; ++i) {
    const Timestamp t = kT0 + milliseconds(i);
    const bool in_burst = i >= 1000 && i < 4000;
    if (!in_burst) h.rec.record(uint16_t(i), t);
    if (i % 50 == 49) {
      auto fbs = h.flush(t);
      if (in_burst) {
        EXPECT_TRUE(fbs.empty());  // nothing new to say during the outage
      }
      if (i >= 4000 && resumed_highest < 0) {
        resumed_highest = i;
        // 2048 statuses: split into packets of at most kMaxPerPacket, the
        // first ones all "not received".
        ASSERT_EQ(fbs.size(), (TwccRecorder::kRing + TwccRecorder::kMaxPerPacket - 1) /
                                  TwccRecorder::kMaxPerPacket);
        EXPECT_EQ(fbs[0].base_seq, uint16_t(i - int(TwccRecorder::kRing) + 1));
        for (const auto& s : fbs[0].statuses) EXPECT_FALSE(s.received);
        // The all-lost packet carries the next received packet's reference time.
        EXPECT_EQ(fbs[0].reference_time, int32_t(us_of(kT0 + milliseconds(4000)) / 64000));
      }
    }
  }
  ASSERT_GT(resumed_highest, 0);
  const int64_t oldest_in_ring = resumed_highest - int64_t(TwccRecorder::kRing) + 1;
  for (int i = 0; i < 5000; ++i) {
    const uint16_t seq = uint16_t(i);
    const bool skipped = i >= 1000 && i < oldest_in_ring;
    EXPECT_EQ(h.times_reported[seq], skipped ? 0 : 1) << i;
    EXPECT_EQ(h.times_reported_lost[seq], !skipped && i >= 1000 && i < 4000 ? 1 : 0) << i;
  }
  uint16_t expected_base = h.feedbacks.front().base_seq;
  for (const auto& fb : h.feedbacks) {
    if (fb.base_seq != expected_base) {
      EXPECT_EQ(expected_base, 1000);  // the only jump: what fell out of the ring
      EXPECT_EQ(fb.base_seq, uint16_t(oldest_in_ring));
    }
    expected_base = uint16_t(fb.base_seq + fb.packets.size());
  }
}

TEST(TwccRecorder, SplitsIntoPacketsOfAtMostMaxPerPacket) {
  Harness h;
  for (int i = 0; i < 1000; ++i) h.rec.record(uint16_t(7000 + i), kT0 + microseconds(100 * i));
  auto fbs = h.flush(kT0);
  ASSERT_EQ(fbs.size(), 3u);
  EXPECT_EQ(fbs[0].base_seq, 7000);
  EXPECT_EQ(fbs[1].base_seq, 7000 + TwccRecorder::kMaxPerPacket);
  EXPECT_EQ(fbs[2].base_seq, 7000 + 2 * TwccRecorder::kMaxPerPacket);
  EXPECT_EQ(fbs[0].packets.size() + fbs[1].packets.size() + fbs[2].packets.size(), 1000u);
  for (size_t k = 1; k < fbs.size(); ++k) {
    EXPECT_EQ(fbs[k].feedback_count, uint8_t(fbs[k - 1].feedback_count + 1));
  }
  for (const auto& fb : fbs) {
    for (const auto& s : fb.statuses) {
      ASSERT_TRUE(s.received);
      EXPECT_LE(std::abs(s.arrival_us - us_of(kT0 + microseconds(100 * (s.seq - 7000)))), 125);
    }
  }
}

TEST(TwccRecorder, DeltaTooLargeStartsANewPacket) {
  TwccRecorder rec;
  rec.record(1, kT0);
  rec.record(3, kT0 + std::chrono::seconds(10));  // 40 000 ticks: no 16-bit delta
  auto fbs = parse(rec.build_feedback(1, 2, kT0));
  ASSERT_EQ(fbs.size(), 2u);
  EXPECT_EQ(fbs[0].base_seq, 1);
  ASSERT_EQ(fbs[0].statuses.size(), 2u);  // 1 received, 2 lost
  EXPECT_FALSE(fbs[0].statuses[1].received);
  EXPECT_EQ(fbs[1].base_seq, 3);
  ASSERT_EQ(fbs[1].statuses.size(), 1u);
  EXPECT_EQ(fbs[1].statuses[0].arrival_us, us_of(kT0 + std::chrono::seconds(10)));
}

TEST(TwccRecorder, DeltasFollowArrivalTimesAndReferenceTime) {
  TwccRecorder rec;
  const int64_t t0 = 100'010'300;  // µs
  const int64_t offsets[] = {0, 1000, 1130, -500, 70'000};
  for (int i = 0; i < 5; ++i)
    rec.record(uint16_t(40 + i), Timestamp{} + microseconds(t0 + offsets[i]));
  auto fbs = parse(rec.build_feedback(1, 2, kT0));
  ASSERT_EQ(fbs.size(), 1u);
  // 100 010 300 µs is 1562 reference units (of 64 ms) and 42 300 µs.
  EXPECT_EQ(fbs[0].reference_time, 1562);
  ASSERT_EQ(fbs[0].packets.size(), 5u);
  // Each delta is from the time the previous deltas add up to, to the nearest 250 µs:
  // 42 300 -> 169 (169.2), 1 050 -> 4 (4.2), 180 -> 1 (0.72), -1 700 -> -7 (-6.8),
  // 70 550 -> 282 (282.2, a two-byte delta).
  const int32_t want[] = {169, 4, 1, -7, 282};
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(fbs[0].packets[i].received);
    EXPECT_EQ(fbs[0].packets[i].delta_250us, want[i]) << i;
    EXPECT_LE(std::abs(fbs[0].statuses[i].arrival_us - (t0 + offsets[i])), 125) << i;
  }
}

}  // namespace
}  // namespace lss
