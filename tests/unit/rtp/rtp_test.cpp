#include <gtest/gtest.h>

#include "rtp/nack_generator.hpp"
#include "rtp/receive_stats.hpp"
#include "rtp/retransmission_buffer.hpp"
#include "rtp/rtcp_packets.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/twcc_feedback_builder.hpp"

namespace lss {
namespace {

// RTP with a one-byte header extension block: id 1 (2 bytes) and id 3 (3 bytes).
Bytes packet_with_extensions() {
  return {0x90, 0x60, 0x12, 0x34, 0, 0, 0x10, 0, 0xca, 0xfe, 0xba, 0xbe,  // header, X=1
          0xBE, 0xDE, 0x00, 0x02,                                         // 2 words
          0x11, 0xaa, 0xbb,                                               // id 1, len 2
          0x32, 0x01, 0x02, 0x03,                                         // id 3, len 3
          0x00,                                                           // padding
          0xde, 0xad};                                                    // payload
}

TEST(RtpPacket, ParsesHeaderAndExtensions) {
  Bytes b = packet_with_extensions();
  RtpPacket p;
  ASSERT_TRUE(RtpPacket::parse(b.data(), b.size(), p));
  EXPECT_EQ(p.payload_type(), 96);
  EXPECT_EQ(p.sequence_number(), 0x1234);
  EXPECT_EQ(p.timestamp(), 0x1000u);
  EXPECT_EQ(p.ssrc(), 0xcafebabeu);
  EXPECT_EQ(p.header_size(), 24u);
  EXPECT_EQ(p.payload().size(), 2u);
  EXPECT_EQ(p.find_extension(1).size(), 2u);
  EXPECT_EQ(p.find_extension(3)[2], 0x03);
  EXPECT_TRUE(p.find_extension(2).empty());
}

TEST(RtpPacket, RewritesInPlace) {
  Bytes b = packet_with_extensions();
  RtpPacket p;
  ASSERT_TRUE(RtpPacket::parse(b.data(), b.size(), p));
  p.set_payload_type(111);
  p.set_sequence_number(7);
  p.set_ssrc(42);
  p.set_timestamp(99);
  p.set_marker(true);
  EXPECT_EQ(p.payload_type(), 111);
  EXPECT_TRUE(p.marker());
  EXPECT_EQ(p.sequence_number(), 7);
  EXPECT_EQ(p.ssrc(), 42u);
  std::array<uint8_t, 256> map{};
  map[1] = 5;  // id 1 -> 5; id 3 dropped
  p.remap_extension_ids(map);
  EXPECT_EQ(p.find_extension(5).size(), 2u);
  EXPECT_TRUE(p.find_extension(1).empty());
  EXPECT_TRUE(p.find_extension(3).empty());
  EXPECT_EQ(p.payload()[0], 0xde);  // payload untouched
}

TEST(RtpPacket, RejectsMalformed) {
  Bytes b = packet_with_extensions();
  RtpPacket p;
  for (size_t n = 0; n < 24; ++n) EXPECT_FALSE(RtpPacket::parse(b.data(), n, p)) << n;
  Bytes v1 = b;
  v1[0] = 0x50;  // version 1
  EXPECT_FALSE(RtpPacket::parse(v1.data(), v1.size(), p));
  Bytes pad = {0xa0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};  // padding longer than the packet
  EXPECT_FALSE(RtpPacket::parse(pad.data(), pad.size(), p));
  Bytes csrc = {0x8f, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};  // 15 CSRCs missing
  EXPECT_FALSE(RtpPacket::parse(csrc.data(), csrc.size(), p));
  EXPECT_TRUE(is_rtcp(Bytes{0x80, 200}));
  EXPECT_FALSE(is_rtcp(Bytes{0x80, 96}));
}

TEST(Rtcp, NackPacksPidAndBlpAndParsesBack) {
  Bytes out;
  build_nack(Nack{1, 2, {100, 101, 116, 117, 300, 65535, 0}}, out);
  std::vector<uint16_t> lost;
  ASSERT_TRUE(for_each_rtcp(out, [&](const RtcpPacket& p) {
    auto* n = std::get_if<Nack>(&p);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->media_ssrc, 2u);
    lost = n->lost;
  }));
  std::sort(lost.begin(), lost.end());
  EXPECT_EQ(lost, (std::vector<uint16_t>{0, 100, 101, 116, 117, 300, 65535}));
  // Hand-made: PID 1000, BLP 0b101 -> 1000, 1001, 1003.
  Bytes hand = {0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0x03, 0xe8, 0x00, 0x05};
  ASSERT_TRUE(for_each_rtcp(hand, [&](const RtcpPacket& p) {
    EXPECT_EQ(std::get<Nack>(p).lost, (std::vector<uint16_t>{1000, 1001, 1003}));
  }));
}

TEST(Rtcp, CompoundSrSdesAndFeedback) {
  Bytes out;
  SenderReport sr;
  sr.ssrc = 7;
  sr.ntp = 0x0123456789abcdefull;
  sr.rtp_timestamp = 90000;
  sr.packet_count = 10;
  sr.octet_count = 1000;
  sr.report_blocks.push_back({9, 12, -3, 5000, 20, 0x1234, 0x5678});
  build_sender_report(sr, out);
  // An SDES chunk (skipped as unknown), then PLI, FIR, REMB, RR.
  const Bytes sdes = {0x81, 202, 0, 2, 0, 0, 0, 7, 1, 0, 0, 0};
  out.insert(out.end(), sdes.begin(), sdes.end());
  build_pli(Pli{1, 7}, out);
  build_fir(Fir{1, {{7, 3}}}, out);
  build_remb(Remb{1, 2'500'000, {7}}, out);
  build_receiver_report(ReceiverReport{1, {}}, out);
  std::vector<RtcpPacket> got;
  ASSERT_TRUE(for_each_rtcp(out, [&](const RtcpPacket& p) { got.push_back(p); }));
  ASSERT_EQ(got.size(), 6u);
  const auto& s = std::get<SenderReport>(got[0]);
  EXPECT_EQ(s.ntp, sr.ntp);
  EXPECT_EQ(s.report_blocks[0].cumulative_lost, -3);
  EXPECT_EQ(s.report_blocks[0].lsr, 0x1234u);
  EXPECT_TRUE(std::holds_alternative<UnknownRtcp>(got[1]));
  EXPECT_EQ(std::get<Pli>(got[2]).media_ssrc, 7u);
  EXPECT_EQ(std::get<Fir>(got[3]).entries[0].seq, 3);
  const auto& remb = std::get<Remb>(got[4]);
  EXPECT_NEAR(double(remb.bitrate_bps), 2.5e6, 2.5e6 * 0.001);
  EXPECT_EQ(remb.ssrcs, std::vector<uint32_t>{7});
  EXPECT_TRUE(std::holds_alternative<ReceiverReport>(got[5]));
}

TEST(Rtcp, ExtendedReportRrtrAndDlrrRoundTrip) {
  ExtendedReport xr;
  xr.sender_ssrc = 9;
  xr.rrtr_ntp = 0x0123456789abcdefULL;
  xr.dlrr = {{7, 0x456789ab, 0x10000}, {8, 1, 2}};
  Bytes out;
  build_receiver_report(ReceiverReport{9, {}}, out);
  build_extended_report(xr, out);
  std::vector<RtcpPacket> got;
  ASSERT_TRUE(for_each_rtcp(out, [&](const RtcpPacket& p) { got.push_back(p); }));
  ASSERT_EQ(got.size(), 2u);
  const auto& x = std::get<ExtendedReport>(got[1]);
  EXPECT_EQ(x.sender_ssrc, 9u);
  ASSERT_TRUE(x.rrtr_ntp);
  EXPECT_EQ(*x.rrtr_ntp, 0x0123456789abcdefULL);
  ASSERT_EQ(x.dlrr.size(), 2u);
  EXPECT_EQ(x.dlrr[0].ssrc, 7u);
  EXPECT_EQ(x.dlrr[0].lrr, 0x456789abu);
  EXPECT_EQ(x.dlrr[0].dlrr, 0x10000u);
  EXPECT_EQ(x.dlrr[1].dlrr, 2u);
  // As a browser sends it: RR, then XR with only a DLRR block (type 5,
  // length 3), then an unknown block type that is skipped.
  const uint8_t chrome[] = {0x80, 0xcf, 0x00, 0x06, 0,    0, 0,    1,  // XR, 7 words
                            0x05, 0x00, 0x00, 0x03, 0,    0, 0,    9,    0x12, 0x34,
                            0x56, 0x78, 0,    0,    0x80, 0, 0x07, 0x00, 0x00, 0x00};
  got.clear();
  ASSERT_TRUE(for_each_rtcp(ByteSpan(chrome, sizeof chrome),
                            [&](const RtcpPacket& p) { got.push_back(p); }));
  const auto& c = std::get<ExtendedReport>(got.at(0));
  EXPECT_FALSE(c.rrtr_ntp);
  ASSERT_EQ(c.dlrr.size(), 1u);
  EXPECT_EQ(c.dlrr[0].lrr, 0x12345678u);
  EXPECT_EQ(c.dlrr[0].dlrr, 0x8000u);
  // A block longer than the packet is malformed.
  uint8_t bad[sizeof chrome];
  std::copy(std::begin(chrome), std::end(chrome), bad);
  bad[11] = 0x09;
  EXPECT_FALSE(for_each_rtcp(ByteSpan(bad, sizeof bad), [](const RtcpPacket&) {}));
}

TEST(Rtcp, ReducedSizePliAndBadLengths) {
  const Bytes pli = {0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
  int n = 0;
  EXPECT_TRUE(
      for_each_rtcp(pli, [&](const RtcpPacket& p) { n += std::holds_alternative<Pli>(p); }));
  EXPECT_EQ(n, 1);
  const Bytes too_long = {0x81, 206, 0, 9, 0, 0, 0, 1};
  EXPECT_FALSE(for_each_rtcp(too_long, [](const RtcpPacket&) {}));
  const Bytes truncated_sr = {0x80, 200, 0, 1, 0, 0, 0, 1};
  EXPECT_FALSE(for_each_rtcp(truncated_sr, [](const RtcpPacket&) {}));
}

TEST(Rtcp, TransportCcRoundTrip) {
  TransportCcFeedback fb;
  fb.sender_ssrc = 1;
  fb.media_ssrc = 2;
  fb.base_seq = 65530;
  fb.reference_time = 1234;
  fb.feedback_count = 9;
  for (int i = 0; i < 20; ++i)
    fb.packets.push_back({uint16_t(65530 + i), i % 5 != 3, i == 7 ? -40 : i * 10});
  Bytes out;
  build_transport_cc(fb, out);
  ASSERT_TRUE(for_each_rtcp(out, [&](const RtcpPacket& p) {
    const auto& got = std::get<TransportCcFeedback>(p);
    EXPECT_EQ(got.base_seq, 65530);
    EXPECT_EQ(got.reference_time, 1234);
    EXPECT_EQ(got.feedback_count, 9);
    ASSERT_EQ(got.packets.size(), 20u);
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(got.packets[i].seq, uint16_t(65530 + i));
      EXPECT_EQ(got.packets[i].received, i % 5 != 3);
      if (got.packets[i].received) {
        EXPECT_EQ(got.packets[i].delta_250us, i == 7 ? -40 : i * 10);
      }
    }
  }));
}

TEST(TwccRecorder, ReportsArrivalsAndLosses) {
  TwccRecorder rec;
  const Timestamp t0 = Timestamp{} + std::chrono::seconds(100);
  for (uint16_t s = 10; s < 20; ++s) {
    if (s == 14) continue;  // lost
    rec.record(s, t0 + std::chrono::milliseconds(s));
  }
  auto packets = rec.build_feedback(1, 2, t0);
  ASSERT_EQ(packets.size(), 1u);
  ASSERT_TRUE(for_each_rtcp(packets[0], [&](const RtcpPacket& p) {
    const auto& fb = std::get<TransportCcFeedback>(p);
    EXPECT_EQ(fb.base_seq, 10);
    ASSERT_EQ(fb.packets.size(), 10u);
    EXPECT_FALSE(fb.packets[4].received);
    EXPECT_EQ(fb.packets[1].delta_250us, 4);  // 1 ms apart
  }));
  EXPECT_TRUE(rec.build_feedback(1, 2, t0).empty());  // nothing new
  rec.record(20, t0 + std::chrono::milliseconds(30));
  EXPECT_EQ(rec.build_feedback(1, 2, t0).size(), 1u);
}

TEST(RetransmissionBuffer, StoresBySequenceAndExpires) {
  RetransmissionBuffer buf(8, std::chrono::seconds(1));
  const Timestamp t0 = Timestamp{} + std::chrono::seconds(5);
  const Bytes a = {1, 2, 3};
  buf.store(a, 100, t0);
  ASSERT_TRUE(buf.get(100, t0).has_value());
  EXPECT_EQ(buf.get(100, t0)->size(), 3u);
  EXPECT_FALSE(buf.get(101, t0).has_value());
  EXPECT_FALSE(buf.get(100, t0 + std::chrono::seconds(2)).has_value());  // too old
  buf.store(Bytes{9}, 108, t0);                                          // same slot as 100
  EXPECT_FALSE(buf.get(100, t0).has_value());
  EXPECT_FALSE(buf.get(100).has_value());
  buf.store(Bytes(2000, 0), 1, t0);  // larger than a slot: ignored
  EXPECT_FALSE(buf.get(1).has_value());
}

TEST(ReceiveStats, LossAndExtendedSequenceAcrossWrap) {
  RtpReceiveStats st(90000);
  const Timestamp t0 = Timestamp{} + std::chrono::seconds(1);
  uint16_t seq = 65530;
  for (int i = 0; i < 20; ++i, ++seq) {
    if (i == 10 || i == 11) continue;
    st.update(seq, uint32_t(i * 3000), t0 + std::chrono::milliseconds(33 * i));
  }
  auto b = st.report_block(5, t0 + std::chrono::seconds(1));
  EXPECT_EQ(b.ssrc, 5u);
  EXPECT_EQ(b.cumulative_lost, 2);
  EXPECT_EQ(b.extended_highest_seq, 65536u + 13u);  // wrapped once
  EXPECT_EQ(b.fraction_lost, uint8_t((2 << 8) / 20));
  st.on_sender_report(0x0000123456780000ull, t0);
  b = st.report_block(5, t0 + std::chrono::milliseconds(500));
  EXPECT_EQ(b.lsr, 0x12345678u);
  EXPECT_NEAR(double(b.dlsr), 32768.0, 2.0);
}

}  // namespace
}  // namespace lss

namespace lss {
namespace {

TEST(NackGenerator, AsksForHolesUntilFilledOrGivenUp) {
  NackGenerator gen(std::chrono::milliseconds(30));
  const Timestamp t0 = Timestamp{} + std::chrono::seconds(1);
  for (uint16_t s : {65533, 65534, 1, 2}) gen.on_packet(s, t0);  // 65535 and 0 lost across the wrap
  std::vector<uint16_t> out;
  gen.collect(t0, out);
  EXPECT_EQ(out, (std::vector<uint16_t>{0, 65535}));  // table order, both asked
  out.clear();
  gen.collect(t0 + std::chrono::milliseconds(10), out);
  EXPECT_TRUE(out.empty());                                  // not due yet
  gen.on_packet(65535, t0 + std::chrono::milliseconds(20));  // the retransmission
  gen.collect(t0 + std::chrono::milliseconds(40), out);
  EXPECT_EQ(out, std::vector<uint16_t>{0});
  EXPECT_EQ(gen.missing(), 1u);
  for (int i = 0; i < 20; ++i) {
    out.clear();
    gen.collect(t0 + std::chrono::milliseconds(100 + 40 * i), out);
  }
  EXPECT_EQ(gen.missing(), 0u);  // gave up after kMaxTries
}

TEST(NackGenerator, RepeatsOnlyAfterTheRoundTrip) {
  using std::chrono::milliseconds;
  NackGenerator gen(milliseconds(30));
  const Timestamp t0 = Timestamp{} + std::chrono::seconds(1);
  EXPECT_EQ(gen.retry_interval(), milliseconds(30));  // the floor until measured
  gen.set_rtt(milliseconds(80));
  EXPECT_EQ(gen.retry_interval(), milliseconds(100));  // 80 ms + a quarter
  gen.on_packet(10, t0);
  gen.on_packet(12, t0);  // 11 lost
  std::vector<uint16_t> out;
  gen.collect(t0, out);
  ASSERT_EQ(out, std::vector<uint16_t>{11});
  out.clear();
  gen.collect(t0 + milliseconds(60), out);  // the 30 ms floor would ask again here
  EXPECT_TRUE(out.empty());
  gen.collect(t0 + milliseconds(100), out);
  EXPECT_EQ(out, std::vector<uint16_t>{11});
  gen.set_rtt(milliseconds(2));  // a LAN: the floor again
  EXPECT_EQ(gen.retry_interval(), milliseconds(30));
  gen.set_rtt(std::chrono::seconds(2));  // a satellite link: capped
  EXPECT_EQ(gen.retry_interval(), NackGenerator::kMaxRetryInterval);
}

TEST(NackGenerator, IgnoresSequenceRestarts) {
  NackGenerator gen;
  const Timestamp t0 = Timestamp{} + std::chrono::seconds(1);
  gen.on_packet(100, t0);
  gen.on_packet(20000, t0);
  std::vector<uint16_t> out;
  gen.collect(t0, out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lss
