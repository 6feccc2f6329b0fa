// RTX packetization (RFC 4588), round-trip time from receiver reports, and
// the per-viewer retransmission limiter (holdoff and budget).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "rtp/duplicate_filter.hpp"
#include "rtp/retransmission_limiter.hpp"
#include "rtp/rtt_estimator.hpp"
#include "rtp/rtx.hpp"

namespace lss {
namespace {

double ms(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// A VP8-ish packet with a one-byte header extension and 3 bytes of padding.
std::vector<uint8_t> packet_with_extension_and_padding() {
  std::vector<uint8_t> p = {
      0xb0, 0xe0, 0x12, 0x34, 0, 0, 0x10, 0x00, 0xaa, 0xbb,
      0xcc, 0xdd, 0xbe, 0xde, 0, 1, 0x21, 0x01, 0x02, 0x00};        // ext id 2, 2 bytes
  for (uint8_t b : {0x90, 0x80, 0x11, 0x22, 0x33}) p.push_back(b);  // payload
  for (uint8_t b : {0, 0, 3}) p.push_back(b);                       // padding
  return p;
}

TEST(Rtx, BuildsAndUnwrapsAnRfc4588Packet) {
  auto original = packet_with_extension_and_padding();
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(original.data(), original.size(), pkt));
  ASSERT_EQ(pkt.padding_size(), 3u);
  uint8_t out[100];
  const size_t n = build_rtx(pkt, 97, 0x01020304, 7, out, sizeof out);
  ASSERT_EQ(n, pkt.header_size() + 2 + 5);  // padding dropped, OSN added
  RtpPacket rtx;
  ASSERT_TRUE(RtpPacket::parse(out, n, rtx));
  EXPECT_EQ(rtx.payload_type(), 97);
  EXPECT_EQ(rtx.ssrc(), 0x01020304u);
  EXPECT_EQ(rtx.sequence_number(), 7);
  EXPECT_EQ(rtx.timestamp(), pkt.timestamp());
  EXPECT_TRUE(rtx.marker());
  EXPECT_EQ(rtx.padding_size(), 0u);
  EXPECT_EQ(rtx.find_extension(2).size(), 2u);
  EXPECT_EQ(load_be16(rtx.payload().data()), 0x1234);

  uint8_t* data = out;
  size_t size = n;
  ASSERT_TRUE(unwrap_rtx(data, size, rtx, 96, 0xaabbccdd));
  EXPECT_EQ(rtx.sequence_number(), 0x1234);
  EXPECT_EQ(rtx.payload_type(), 96);
  EXPECT_EQ(rtx.ssrc(), 0xaabbccddu);
  ASSERT_EQ(rtx.payload().size(), 5u);
  EXPECT_EQ(std::memcmp(rtx.payload().data(), original.data() + pkt.header_size(), 5), 0);
}

TEST(Rtx, RefusesWhatDoesNotFit) {
  auto original = packet_with_extension_and_padding();
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(original.data(), original.size(), pkt));
  uint8_t out[20];
  EXPECT_EQ(build_rtx(pkt, 97, 1, 1, out, sizeof out), 0u);
  // A padding-only probe has no OSN to unwrap.
  std::vector<uint8_t> probe = {0x80, 97, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x55};
  ASSERT_TRUE(RtpPacket::parse(probe.data(), probe.size(), pkt));
  uint8_t* data = probe.data();
  size_t size = probe.size();
  EXPECT_FALSE(unwrap_rtx(data, size, pkt, 96, 1));
}

TEST(RttEstimator, FromLsrAndDlsr) {
  RttEstimator rtt;
  const Timestamp t0 = Clock::now();
  const uint64_t ntp = 0x1122334455667788ull;
  EXPECT_FALSE(rtt.on_report_block(0, 0, t0));  // no SR received yet
  rtt.on_sender_report_sent(ntp, t0);
  // The receiver held it 50 ms; the report arrives 130 ms after we sent it.
  const uint32_t dlsr = 65536 / 20;
  auto sample = rtt.on_report_block(0x33445566, dlsr, t0 + std::chrono::milliseconds(130));
  ASSERT_TRUE(sample);
  EXPECT_NEAR(ms(*sample), 80.0, 0.1);
  EXPECT_EQ(rtt.rtt(), sample);
  EXPECT_FALSE(rtt.on_report_block(0x99999999, 0, t0 + std::chrono::seconds(1)));  // unknown SR
  // Smoothing: a second, larger sample moves the average by an eighth.
  rtt.on_sender_report_sent(ntp + (uint64_t(1) << 32), t0 + std::chrono::seconds(1));
  rtt.on_report_block(0x33455566, 0, t0 + std::chrono::milliseconds(1160));
  EXPECT_NEAR(ms(*rtt.rtt()), 80 + (160 - 80) / 8.0, 0.1);
}

TEST(RetransmissionLimiter, HoldsOffARepeatWithinOneRtt) {
  RetransmissionLimiter lim;
  lim.set_rtt(std::chrono::milliseconds(80));
  const Timestamp t0 = Clock::now();
  using V = RetransmissionLimiter::Verdict;
  EXPECT_EQ(lim.allow(10, 1200, t0), V::kSend);
  EXPECT_EQ(lim.allow(11, 1200, t0), V::kSend);
  EXPECT_EQ(lim.allow(10, 1200, t0 + std::chrono::milliseconds(50)), V::kHoldoff);
  EXPECT_EQ(lim.allow(10, 1200, t0 + std::chrono::milliseconds(90)), V::kSend);
  // 1024 slots: a sequence number sharing 10's slot is a different packet.
  EXPECT_EQ(lim.allow(uint16_t(10 + 1024), 1200, t0 + std::chrono::milliseconds(91)), V::kSend);
  EXPECT_EQ(lim.counters().sent, 4u);
  EXPECT_EQ(lim.counters().holdoff, 1u);
}

TEST(RetransmissionLimiter, HoldoffIsClamped) {
  RetransmissionLimiter lim;
  const Timestamp t0 = Clock::now();
  lim.set_rtt(std::chrono::seconds(5));  // a silly RTT: at most 300 ms
  ASSERT_EQ(lim.allow(1, 100, t0), RetransmissionLimiter::Verdict::kSend);
  EXPECT_EQ(lim.allow(1, 100, t0 + std::chrono::milliseconds(310)),
            RetransmissionLimiter::Verdict::kSend);
  lim.set_rtt(std::chrono::milliseconds(1));  // at least 20 ms
  ASSERT_EQ(lim.allow(2, 100, t0), RetransmissionLimiter::Verdict::kSend);
  EXPECT_EQ(lim.allow(2, 100, t0 + std::chrono::milliseconds(10)),
            RetransmissionLimiter::Verdict::kHoldoff);
}

TEST(RetransmissionLimiter, BudgetCapsTheRepairRate) {
  RetransmissionLimiter::Config cfg;
  cfg.budget_bps = 400'000;  // 50 KB/s, bucket of 250 ms = 12.5 KB
  RetransmissionLimiter lim(cfg);
  const Timestamp t0 = Clock::now();
  // A viewer NACKing everything for 2 s, 1200-byte packets, every 5 ms.
  size_t sent_bytes = 0;
  uint16_t seq = 0;
  for (int ms = 0; ms < 2000; ms += 5) {
    if (lim.allow(seq++, 1200, t0 + std::chrono::milliseconds(ms)) ==
        RetransmissionLimiter::Verdict::kSend)
      sent_bytes += 1200;
  }
  // 2 s at 50 KB/s plus the initial bucket, within one packet.
  EXPECT_LE(sent_bytes, 100'000u + 12'500u + 1200u);
  EXPECT_GE(sent_bytes, 100'000u);
  EXPECT_GT(lim.counters().over_budget, 0u);
}

TEST(RetransmissionLimiter, RedundantCopiesAreChargedToTheSameBudget) {
  RetransmissionLimiter::Config cfg;
  cfg.budget_bps = 80'000;  // 10 KB/s, bucket 2.5 KB
  RetransmissionLimiter lim(cfg);
  const Timestamp t0 = Clock::now();
  ASSERT_EQ(lim.allow(1, 1000, t0), RetransmissionLimiter::Verdict::kSend);
  EXPECT_TRUE(lim.charge(1000, t0));
  EXPECT_FALSE(lim.charge(1000, t0));  // 500 bytes left
  EXPECT_EQ(lim.allow(2, 1000, t0), RetransmissionLimiter::Verdict::kOverBudget);
  EXPECT_TRUE(lim.charge(1000, t0 + std::chrono::milliseconds(100)));
}

TEST(DuplicateFilter, PassesEachSequenceNumberOnce) {
  DuplicateFilter f;
  EXPECT_TRUE(f.first_time(65530));
  EXPECT_FALSE(f.first_time(65530));
  EXPECT_TRUE(f.first_time(65533));  // a gap
  EXPECT_TRUE(f.first_time(2));      // across the wrap
  EXPECT_TRUE(f.first_time(65531));  // late, but never seen: a repair
  EXPECT_FALSE(f.first_time(65531));
  EXPECT_FALSE(f.first_time(65533));
  // The window moves on: a slot reused by a newer number is that number's.
  for (uint16_t s = 3; s < 3 + DuplicateFilter::kWindow; ++s) ASSERT_TRUE(f.first_time(s));
  EXPECT_FALSE(f.first_time(2));  // older than the window now
  EXPECT_FALSE(f.first_time(uint16_t(3 + DuplicateFilter::kWindow - 1)));
  // A jump far ahead clears everything.
  EXPECT_TRUE(f.first_time(12050));
  EXPECT_TRUE(f.first_time(12049));
}

}  // namespace
}  // namespace lss
