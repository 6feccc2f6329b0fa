#include "h264_packetizer.hpp"

#include <gtest/gtest.h>

#include "codec/depacketizer.hpp"

namespace lss::load {
namespace {

std::vector<Bytes> packetize(const NalUnits& nals, size_t max_payload) {
  std::vector<Bytes> out;
  H264Packetizer p(nals, max_payload);
  Bytes buf(max_payload + 16, 0xee);  // room past the limit shows an overrun
  while (!p.done()) {
    const size_t n = p.next(buf.data());
    EXPECT_GT(n, 0u);
    EXPECT_LE(n, max_payload);
    out.emplace_back(buf.begin(), buf.begin() + ptrdiff_t(n));
  }
  EXPECT_EQ(p.next(buf.data()), 0u);
  return out;
}

Bytes nal(uint8_t header, size_t size, uint8_t seed = 1) {
  Bytes n(size);
  n[0] = header;
  for (size_t i = 1; i < size; ++i) n[i] = uint8_t(i * 37 + seed);
  return n;
}

Bytes annex_b(const NalUnits& nals) {
  Bytes out;
  for (const auto& n : nals) {
    out.insert(out.end(), {0, 0, 0, 1});
    out.insert(out.end(), n.begin(), n.end());
  }
  return out;
}

// What a viewer reassembles: the server's own depacketizer, fed in order
// with the marker on the last packet.
std::vector<codec::EncodedFrame> depacketize(const std::vector<std::vector<Bytes>>& frames) {
  auto d = codec::Depacketizer::create("H264");
  std::vector<codec::EncodedFrame> out;
  uint16_t seq = 1000;
  uint32_t ts = 90000;
  for (const auto& payloads : frames) {
    for (size_t i = 0; i < payloads.size(); ++i)
      d->push(seq++, ts, i + 1 == payloads.size(), payloads[i], out);
    ts += 3000;
  }
  return out;
}

const Bytes kSps = {0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70,
                    0x16, 0xa0, 0x40, 0x40, 0xa8, 0x00, 0x00, 0x03, 0x00, 0x08,
                    0x00, 0x00, 0x03, 0x01, 0xe0, 0x78, 0xc1, 0x92, 0x40};
const Bytes kPps = {0x68, 0xcb, 0x83, 0xcb, 0x20};

TEST(H264Packetizer, AccessUnitRoundTripsThroughTheServersDepacketizer) {
  // SPS, PPS, SEI, a 5000-byte IDR slice (several FU-As) and a small one.
  const NalUnits idr = {kSps, kPps, nal(0x06, 40), nal(0x65, 5000), nal(0x65, 300, 7)};
  const NalUnits inter = {nal(0x41, 2500, 3), nal(0x01, 10, 9)};
  const auto p1 = packetize(idr, 1180), p2 = packetize(inter, 1180);
  const auto frames = depacketize({p1, p2});
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].data, annex_b(idr));
  EXPECT_TRUE(frames[0].keyframe);
  EXPECT_EQ(frames[0].width, 640);
  EXPECT_EQ(frames[0].height, 360);
  EXPECT_EQ(frames[1].data, annex_b(inter));
  EXPECT_FALSE(frames[1].keyframe);
}

TEST(H264Packetizer, RoundTripsAtManyPayloadSizes) {
  const NalUnits au = {kSps, kPps, nal(0x65, 1001), nal(0x65, 2), nal(0x65, 77), nal(0x0c, 500)};
  for (size_t max = 3; max < 1300; max += 7) {
    const auto frames = depacketize({packetize(au, max)});
    ASSERT_EQ(frames.size(), 1u) << "max_payload " << max;
    EXPECT_EQ(frames[0].data, annex_b(au)) << "max_payload " << max;
  }
}

TEST(H264Packetizer, LargeNalUnitBecomesFuAFragmentsWithStartAndEndBits) {
  const Bytes big = nal(0x65, 1000);  // NRI 3, IDR
  const auto payloads = packetize({big}, 300);
  ASSERT_EQ(payloads.size(), 4u);  // 999 body bytes, 298 per fragment
  Bytes body;
  size_t smallest = SIZE_MAX, largest = 0;
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Bytes& p = payloads[i];
    EXPECT_EQ(p[0], 0x60 | 28) << "FU indicator: F=0, NRI of the NAL unit, type 28";
    const bool s = p[1] & 0x80, e = p[1] & 0x40;
    EXPECT_EQ(s, i == 0);
    EXPECT_EQ(e, i + 1 == payloads.size());
    EXPECT_EQ(p[1] & 0x20, 0) << "R bit";
    EXPECT_EQ(p[1] & 0x1f, 5) << "the NAL unit's type";
    body.insert(body.end(), p.begin() + 2, p.end());
    smallest = std::min(smallest, p.size());
    largest = std::max(largest, p.size());
  }
  // The NAL header byte is not repeated: the fragments carry what follows it.
  EXPECT_EQ(body, Bytes(big.begin() + 1, big.end()));
  EXPECT_LE(largest - smallest, 1u) << "even split";
}

TEST(H264Packetizer, NalUnitThatFitsGoesAloneAndOneByteMoreIsFragmented) {
  const Bytes exact = nal(0x41, 1180);
  auto one = packetize({exact}, 1180);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], exact) << "Single NAL Unit packet: the NAL unit itself";

  auto two = packetize({nal(0x41, 1181)}, 1180);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0][0] & 0x1f, 28);
  EXPECT_EQ(two[1][1] & 0x40, 0x40);
}

TEST(H264Packetizer, SmallNalUnitsShareAStapA) {
  const Bytes sei = nal(0x06, 30);
  const auto payloads = packetize({kSps, kPps, sei, nal(0x65, 2000)}, 1180);
  ASSERT_GE(payloads.size(), 2u);
  const Bytes& stap = payloads[0];
  EXPECT_EQ(stap[0], 0x60 | 24) << "STAP-A with the highest NRI of its units (SPS: 3)";
  ByteReader r(ByteSpan(stap).subspan(1));
  for (const Bytes* want : {&kSps, &kPps, &sei}) {
    const uint16_t n = r.u16();
    ByteSpan got = r.bytes(n);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Bytes(got.begin(), got.end()), *want);
  }
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(payloads[1][0] & 0x1f, 28) << "the IDR slice follows as FU-A";

  // A unit that does not fit beside the next goes alone.
  const auto alone = packetize({nal(0x41, 1000), nal(0x41, 500)}, 1180);
  ASSERT_EQ(alone.size(), 2u);
  EXPECT_EQ(alone[0].size(), 1000u);
  EXPECT_EQ(alone[1].size(), 500u);
}

TEST(H264Packetizer, EmptyAccessUnitIsDoneAtOnce) {
  const NalUnits none;
  H264Packetizer p(none, 1180);
  EXPECT_TRUE(p.done());
  const NalUnits empties = {Bytes{}, Bytes{}};
  H264Packetizer q(empties, 1180);
  EXPECT_TRUE(q.done());
}

}  // namespace
}  // namespace lss::load
