// VideoRewriter: layer switches at keyframes with continuous numbering,
// pausing, temporal-layer dropping, and repairs rewritten as first sent.
#include "sfu/video_rewriter.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "codec/vp8_descriptor.hpp"

namespace lss::sfu {
namespace {

constexpr uint32_t kOut = 0xabcdef01;

// A VP8 packet: X=1, I (15-bit picture id), L (tl0), T (tid, Y).
std::vector<uint8_t> vp8(uint32_t ssrc, uint16_t seq, uint32_t ts, uint16_t pid, uint8_t tl0,
                         uint8_t tid, bool start, bool key, bool sync = false) {
  std::vector<uint8_t> p(12);
  p[0] = 0x80;
  p[1] = 96;
  store_be16(&p[2], seq);
  store_be32(&p[4], ts);
  store_be32(&p[8], ssrc);
  p.push_back(uint8_t(0x80 | (start ? 0x10 : 0)));  // X, S, PID 0
  p.push_back(0xe0);                                // I L T
  p.push_back(uint8_t(0x80 | (pid >> 8)));
  p.push_back(uint8_t(pid));
  p.push_back(tl0);
  p.push_back(uint8_t(tid << 6 | (sync ? 0x20 : 0)));
  p.push_back(key ? 0x00 : 0x01);  // VP8 header: inverse key frame bit
  for (int i = 0; i < 20; ++i) p.push_back(uint8_t(i));
  return p;
}

struct Out {
  bool sent;
  uint16_t seq;
  uint32_t ts;
  uint16_t pid;
  uint8_t tl0;
  uint32_t ssrc;
};

Out run(VideoRewriter& r, int layer, std::vector<uint8_t> bytes, bool key, Timestamp now) {
  RtpPacket pkt;
  EXPECT_TRUE(RtpPacket::parse(bytes.data(), bytes.size(), pkt));
  const bool sent = r.rewrite(layer, pkt, key, now);
  codec::Vp8Descriptor d;
  EXPECT_TRUE(codec::parse_vp8_descriptor(pkt.payload(), d));
  return {sent, pkt.sequence_number(), pkt.timestamp(), d.picture_id, d.tl0picidx, pkt.ssrc()};
}

TEST(Vp8Descriptor, ParsesAndRewritesInPlace) {
  auto b = vp8(1, 1, 1, 0x1234, 7, 2, true, false, true);
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(b.data(), b.size(), pkt));
  codec::Vp8Descriptor d;
  ASSERT_TRUE(codec::parse_vp8_descriptor(pkt.payload(), d));
  EXPECT_TRUE(d.frame_start());
  EXPECT_TRUE(d.long_picture_id);
  EXPECT_EQ(d.picture_id, 0x1234);
  EXPECT_EQ(d.tl0picidx, 7);
  EXPECT_EQ(d.tid, 2);
  EXPECT_TRUE(d.layer_sync);
  EXPECT_EQ(d.size, 6u);
  uint8_t* payload = b.data() + 12;
  codec::write_vp8_picture_id(payload, d, 0x7fff + 3);  // wraps to 15 bits
  codec::write_vp8_tl0picidx(payload, d, 9);
  ASSERT_TRUE(codec::parse_vp8_descriptor(pkt.payload(), d));
  EXPECT_EQ(d.picture_id, 2);
  EXPECT_EQ(d.tl0picidx, 9);
  EXPECT_FALSE(codec::parse_vp8_descriptor(ByteSpan(payload, 3), d));  // truncated
}

TEST(VideoRewriter, StartsAtAKeyframeOfTheTargetAndKeepsItsNumbering) {
  VideoRewriter r(kOut, codec::VideoCodec::kVP8);
  const Timestamp t0 = Clock::now();
  EXPECT_FALSE(run(r, 0, vp8(1, 10, 900, 5, 1, 0, true, false), false, t0).sent);  // paused
  r.set_target(0);
  EXPECT_TRUE(r.waiting_for_keyframe());
  EXPECT_FALSE(run(r, 0, vp8(1, 11, 900, 5, 1, 0, true, false), false, t0).sent);  // delta
  EXPECT_FALSE(run(r, 1, vp8(2, 50, 9000, 80, 3, 0, true, true), true, t0).sent);  // other layer
  auto o = run(r, 0, vp8(1, 12, 1800, 6, 2, 0, true, true), true, t0);
  ASSERT_TRUE(o.sent);
  EXPECT_EQ(o.seq, 12);
  EXPECT_EQ(o.ts, 1800u);
  EXPECT_EQ(o.pid, 6);
  EXPECT_EQ(o.ssrc, kOut);
  EXPECT_FALSE(r.waiting_for_keyframe());
  EXPECT_TRUE(run(r, 0, vp8(1, 13, 1800, 6, 2, 0, false, false), false, t0).sent);
}

TEST(VideoRewriter, SwitchesLayerAtItsKeyframeWithoutAGap) {
  VideoRewriter r(kOut, codec::VideoCodec::kVP8);
  const Timestamp t0 = Clock::now();
  r.set_target(0);
  ASSERT_TRUE(run(r, 0, vp8(1, 100, 3000, 40, 10, 0, true, true), true, t0).sent);
  ASSERT_TRUE(run(r, 0, vp8(1, 101, 3000, 40, 10, 0, false, false), false, t0).sent);
  r.set_target(2);
  // Until layer 2's keyframe, layer 0 goes on; layer 2's deltas are dropped.
  EXPECT_FALSE(run(r, 2, vp8(3, 7000, 555000, 900, 77, 0, true, false), false, t0).sent);
  auto last0 = run(r, 0, vp8(1, 102, 6000, 41, 11, 0, true, false), false, t0);
  ASSERT_TRUE(last0.sent);
  EXPECT_EQ(last0.seq, 102);
  const Timestamp t1 = t0 + std::chrono::milliseconds(33);
  auto first2 = run(r, 2, vp8(3, 7001, 558000, 901, 78, 0, true, true), true, t1);
  ASSERT_TRUE(first2.sent);
  EXPECT_EQ(first2.seq, 103);           // continuous
  EXPECT_EQ(first2.ts, 6000u + 2970u);  // + 33 ms at 90 kHz
  EXPECT_EQ(first2.pid, 42);            // continuous picture ids
  EXPECT_EQ(first2.tl0, 12);
  EXPECT_EQ(first2.ssrc, kOut);
  EXPECT_EQ(r.current(), 2);
  EXPECT_EQ(r.counters().switches, 1u);
  // Layer 0 is now dropped, layer 2 continues.
  EXPECT_FALSE(run(r, 0, vp8(1, 103, 9000, 42, 12, 0, true, false), false, t1).sent);
  auto next2 = run(r, 2, vp8(3, 7002, 558000, 901, 78, 0, false, false), false, t1);
  EXPECT_EQ(next2.seq, 104);
  EXPECT_EQ(next2.ts, first2.ts);
  // A NACK for 103 maps back to layer 2's 7001, rewritten exactly as sent.
  auto origin = r.origin_of(103);
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->layer, 2);
  EXPECT_EQ(origin->source_seq, 7001);
  auto again = vp8(3, 7001, 558000, 901, 78, 0, true, true);
  RtpPacket pkt;
  ASSERT_TRUE(RtpPacket::parse(again.data(), again.size(), pkt));
  ASSERT_TRUE(r.rewrite_repair(103, pkt));
  EXPECT_EQ(pkt.sequence_number(), 103);
  EXPECT_EQ(pkt.timestamp(), first2.ts);
  EXPECT_EQ(pkt.ssrc(), kOut);
  EXPECT_FALSE(r.origin_of(60000));
}

TEST(VideoRewriter, PausedThenResumedWithoutAGap) {
  VideoRewriter r(kOut, codec::VideoCodec::kH264);
  const Timestamp t0 = Clock::now();
  r.set_target(0);
  std::vector<uint8_t> p(20, 0);
  auto h264 = [&](uint16_t seq, uint32_t ts) {
    std::vector<uint8_t> b(12 + 8, 0);
    b[0] = 0x80;
    b[1] = 102;
    store_be16(&b[2], seq);
    store_be32(&b[4], ts);
    store_be32(&b[8], 5);
    b[12] = 0x65;  // IDR
    return b;
  };
  auto send = [&](uint16_t seq, uint32_t ts, bool key, Timestamp now) -> std::optional<uint16_t> {
    auto b = h264(seq, ts);
    RtpPacket pkt;
    EXPECT_TRUE(RtpPacket::parse(b.data(), b.size(), pkt));
    if (!r.rewrite(0, pkt, key, now)) return std::nullopt;
    return pkt.sequence_number();
  };
  ASSERT_EQ(send(1000, 90000, true, t0), 1000);
  ASSERT_EQ(send(1001, 93000, false, t0), 1001);
  r.set_target(VideoRewriter::kPaused);
  for (uint16_t s = 1002; s < 1100; ++s) EXPECT_FALSE(send(s, 96000, false, t0));
  r.set_target(0);
  EXPECT_FALSE(send(1100, 99000, false, t0));                               // not a keyframe
  EXPECT_EQ(send(1101, 102000, true, t0 + std::chrono::seconds(1)), 1002);  // no gap to NACK
}

TEST(VideoRewriter, DropsUpperTemporalLayersAndClosesTheGaps) {
  VideoRewriter r(kOut, codec::VideoCodec::kVP8);
  const Timestamp t0 = Clock::now();
  r.set_target(0);
  r.set_max_temporal_layer(0);
  // L1T3 pattern: tid 0 2 1 2 0 ..., one packet per frame.
  const uint8_t tids[] = {0, 2, 1, 2, 0, 2, 1, 2, 0};
  std::vector<uint16_t> seqs, pids;
  for (int i = 0; i < 9; ++i) {
    const bool key = i == 0;
    auto o = run(r, 0,
                 vp8(1, uint16_t(200 + i), uint32_t(3000 * i), uint16_t(10 + i), uint8_t(i / 4),
                     tids[i], true, key),
                 key, t0);
    if (o.sent) {
      seqs.push_back(o.seq);
      pids.push_back(o.pid);
    }
  }
  EXPECT_EQ(seqs, (std::vector<uint16_t>{200, 201, 202}));
  EXPECT_EQ(pids, (std::vector<uint16_t>{10, 11, 12}));
  EXPECT_EQ(r.counters().dropped_temporal, 6u);
  // Up again at a layer-sync frame only.
  r.set_max_temporal_layer(3);
  auto not_sync = run(r, 0, vp8(1, 209, 27000, 19, 2, 2, true, false, false), false, t0);
  EXPECT_FALSE(not_sync.sent);
  auto sync = run(r, 0, vp8(1, 210, 30000, 20, 2, 1, true, false, true), false, t0);
  ASSERT_TRUE(sync.sent);
  EXPECT_EQ(sync.seq, 203);
  EXPECT_EQ(sync.pid, 13);
}

// Each dropped temporal-layer frame shifts the offsets; every packet sent is
// still repaired exactly as it was first sent while its offsets are among the
// latest sets kept, and refused (never rewritten wrongly) once they are not.
TEST(VideoRewriter, RepairsAcrossManyOffsetChanges) {
  VideoRewriter r(kOut, codec::VideoCodec::kVP8);
  const Timestamp t0 = Clock::now();
  r.set_target(0);
  r.set_max_temporal_layer(0);
  struct Sent {
    uint16_t source_seq, out_seq, source_pid, out_pid;
    uint32_t source_ts, out_ts;
    uint8_t tl0;
  };
  std::vector<Sent> sent;
  // tid 0 2 0 2 ...: every other frame dropped, so each frame sent has new
  // offsets (300 frames: far more sets than the rewriter keeps).
  for (int i = 0; i < 600; ++i) {
    const bool key = i == 0;
    const auto seq = uint16_t(65000 + i);  // wraps around
    const auto ts = uint32_t(3000 * i);
    const auto pid = uint16_t(i);
    auto o = run(r, 0, vp8(1, seq, ts, pid, 0, uint8_t(i % 2 ? 2 : 0), true, key), key, t0);
    if (o.sent) sent.push_back({seq, o.seq, pid, o.pid, ts, o.ts, o.tl0});
  }
  ASSERT_EQ(sent.size(), 300u);
  auto repair = [&](const Sent& s) {
    auto bytes = vp8(1, s.source_seq, s.source_ts, s.source_pid, 0, 0, true, false);
    RtpPacket pkt;
    EXPECT_TRUE(RtpPacket::parse(bytes.data(), bytes.size(), pkt));
    if (!r.rewrite_repair(s.out_seq, pkt)) return false;
    codec::Vp8Descriptor d;
    EXPECT_TRUE(codec::parse_vp8_descriptor(pkt.payload(), d));
    EXPECT_EQ(pkt.sequence_number(), s.out_seq);
    EXPECT_EQ(pkt.timestamp(), s.out_ts);
    EXPECT_EQ(d.picture_id, s.out_pid);
    return true;
  };
  // The newest 40 frames (40 offset sets) are all repairable.
  for (size_t i = sent.size() - 40; i < sent.size(); ++i) {
    auto origin = r.origin_of(sent[i].out_seq);
    ASSERT_TRUE(origin) << i;
    EXPECT_EQ(origin->source_seq, sent[i].source_seq);
    EXPECT_TRUE(repair(sent[i])) << i;
  }
  // The oldest ones' offsets are gone: refused, not rewritten wrongly.
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_FALSE(r.origin_of(sent[i].out_seq)) << i;
    EXPECT_FALSE(repair(sent[i])) << i;
  }
}

}  // namespace
}  // namespace lss::sfu
