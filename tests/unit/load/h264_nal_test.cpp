#include "h264_nal.hpp"

#include <gtest/gtest.h>

namespace lss::load {
namespace {

// The avcC record of tests/data/media/clip-h264.mkv: version 1, profile 0x42
// (constrained baseline, level 3.1), 4-byte lengths, one SPS, one PPS.
const Bytes kAvcC = {0x01, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0x00, 0x1d, 0x67, 0x42, 0xc0, 0x1f,
                     0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x16, 0xa0, 0x40, 0x40, 0xa8, 0x00,
                     0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0xe0, 0x78, 0xc1, 0x92,
                     0x40, 0x01, 0x00, 0x05, 0x68, 0xcb, 0x83, 0xcb, 0x20};

Bytes sample(std::initializer_list<Bytes> nals, int length_size = 4) {
  Bytes out;
  for (const auto& n : nals) {
    for (int i = length_size - 1; i >= 0; --i) out.push_back(uint8_t(n.size() >> (8 * i)));
    out.insert(out.end(), n.begin(), n.end());
  }
  return out;
}

TEST(Avcc, ParsesTheRecord) {
  auto c = parse_avcc(kAvcC);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->length_size, 4);
  ASSERT_EQ(c->sps.size(), 1u);
  ASSERT_EQ(c->pps.size(), 1u);
  EXPECT_EQ(c->sps[0].size(), 0x1du);
  EXPECT_EQ(c->sps[0][0], 0x67);
  EXPECT_EQ(c->pps[0], (Bytes{0x68, 0xcb, 0x83, 0xcb, 0x20}));
}

TEST(Avcc, EveryTruncationOfTheRecordIsAnError) {
  for (size_t n = 0; n < kAvcC.size(); ++n) {
    auto c = parse_avcc(ByteSpan(kAvcC.data(), n));
    EXPECT_FALSE(c.ok()) << n << " bytes";
  }
}

TEST(Avcc, RejectsBadRecords) {
  Bytes v2 = kAvcC;
  v2[0] = 2;
  EXPECT_FALSE(parse_avcc(v2).ok());
  Bytes three = kAvcC;
  three[4] = 0xfe;  // lengthSizeMinusOne = 2
  EXPECT_FALSE(parse_avcc(three).ok());
  Bytes long_sps = kAvcC;
  long_sps[7] = 0xff;  // the SPS claims 255 bytes
  EXPECT_FALSE(parse_avcc(long_sps).ok());
  auto annexb = parse_avcc(Bytes{0, 0, 0, 1, 0x67, 0x42});
  ASSERT_FALSE(annexb.ok());
  EXPECT_NE(annexb.error().message.find("Annex B"), std::string::npos);
}

TEST(Avcc, SplitsSamplesWithEachLengthSize) {
  const Bytes a = {0x65, 1, 2, 3}, b = {0x06, 9};
  for (int ls : {1, 2, 4}) {
    auto nals = split_avcc(sample({a, b}, ls), ls);
    ASSERT_TRUE(nals.ok()) << ls << ": " << nals.error().message;
    ASSERT_EQ(nals->size(), 2u);
    EXPECT_EQ((*nals)[0], a);
    EXPECT_EQ((*nals)[1], b);
  }
  EXPECT_FALSE(split_avcc(sample({a}), 3).ok());
}

TEST(Avcc, CorruptSamplesAreErrorsNotOverreads) {
  const Bytes good = sample({{0x65, 1, 2, 3}, {0x41, 4, 5}});
  // Every truncation but the two clean cuts between NAL units fails.
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = split_avcc(ByteSpan(good.data(), n), 4);
    EXPECT_EQ(r.ok(), n == 8) << n << " bytes";
  }
  Bytes huge = good;
  huge[0] = 0xff;  // 4 GB claimed
  auto r = split_avcc(huge, 4);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("past the sample"), std::string::npos) << r.error().message;
  EXPECT_FALSE(split_avcc(sample({{0xe5, 1}}), 4).ok()) << "forbidden_zero_bit set";
  EXPECT_FALSE(split_avcc(Bytes{}, 4).ok()) << "no NAL unit";
  auto zero = split_avcc(sample({Bytes{}, {0x41, 1}}), 4);
  ASSERT_TRUE(zero.ok()) << "zero lengths are skipped";
  EXPECT_EQ(zero->size(), 1u);
}

TEST(Avcc, KeyframesGetSpsAndPpsInFront) {
  auto c = parse_avcc(kAvcC);
  ASSERT_TRUE(c.ok());
  const Bytes sei = {0x06, 5, 1, 0x80}, idr = {0x65, 0x88, 1, 2}, p = {0x41, 0x9a, 3};

  auto key = avcc_access_unit(sample({sei, idr}), *c);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->idr);
  EXPECT_EQ(key->nals, (NalUnits{c->sps[0], c->pps[0], sei, idr}));

  auto inter = avcc_access_unit(sample({p}), *c);
  ASSERT_TRUE(inter.ok());
  EXPECT_FALSE(inter->idr);
  EXPECT_EQ(inter->nals, NalUnits{p});

  // An access unit delimiter stays first; in-band SPS is not doubled.
  const Bytes aud = {0x09, 0x10};
  auto with_aud = avcc_access_unit(sample({aud, idr}), *c);
  ASSERT_TRUE(with_aud.ok());
  EXPECT_EQ(with_aud->nals, (NalUnits{aud, c->sps[0], c->pps[0], idr}));
  auto inband = avcc_access_unit(sample({c->sps[0], c->pps[0], idr}), *c);
  ASSERT_TRUE(inband.ok());
  EXPECT_EQ(inband->nals.size(), 3u);

  EXPECT_FALSE(avcc_access_unit(Bytes{0, 0, 0, 9, 0x65}, *c).ok());
}

TEST(Avcc, FillerNalUnit) {
  const Bytes f = h264_filler_nal(6);
  EXPECT_EQ(f, (Bytes{0x0c, 0xff, 0xff, 0xff, 0xff, 0x80}));
  EXPECT_EQ(h264_filler_nal(0), (Bytes{0x0c, 0x80})) << "the smallest filler NAL unit";
  EXPECT_EQ(h264_nal_type(f), 12);
}

}  // namespace
}  // namespace lss::load
