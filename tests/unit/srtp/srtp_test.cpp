#include <gtest/gtest.h>

#include "srtp/srtp_session.hpp"

namespace lss {
namespace {

Bytes master(SrtpProfile p, uint8_t seed) {
  Bytes m(srtp_key_length(p) + srtp_salt_length(p));
  for (size_t i = 0; i < m.size(); ++i) m[i] = uint8_t(seed + i);
  return m;
}

Bytes rtp_packet(uint16_t seq, size_t payload = 100) {
  Bytes p = {0x80, 96, uint8_t(seq >> 8), uint8_t(seq), 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef};
  for (size_t i = 0; i < payload; ++i) p.push_back(uint8_t(i));
  return p;
}

class SrtpRoundTrip : public ::testing::TestWithParam<SrtpProfile> {};

TEST_P(SrtpRoundTrip, RtpAndRtcp) {
  const SrtpProfile profile = GetParam();
  auto tx =
      SrtpSession::create(profile, master(profile, 7), SrtpSession::Direction::kOutbound).value();
  auto rx =
      SrtpSession::create(profile, master(profile, 7), SrtpSession::Direction::kInbound).value();
  for (uint16_t seq = 1; seq < 50; ++seq) {
    Bytes plain = rtp_packet(seq);
    Bytes buf = plain;
    size_t len = buf.size();
    buf.resize(len + SrtpSession::kMaxTrailer);
    ASSERT_TRUE(tx->protect_rtp(buf.data(), len, buf.size()).ok());
    EXPECT_GT(len, plain.size());
    EXPECT_FALSE(std::equal(plain.begin() + 12, plain.end(), buf.begin() + 12));  // encrypted
    ASSERT_TRUE(rx->unprotect_rtp(buf.data(), len).ok());
    ASSERT_EQ(len, plain.size());
    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), buf.begin()));
  }
  Bytes rtcp = {0x81, 201, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0,
                0,    0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  Bytes buf = rtcp;
  size_t len = buf.size();
  buf.resize(len + SrtpSession::kMaxTrailer);
  ASSERT_TRUE(tx->protect_rtcp(buf.data(), len, buf.size()).ok());
  ASSERT_TRUE(rx->unprotect_rtcp(buf.data(), len).ok());
  EXPECT_TRUE(std::equal(rtcp.begin(), rtcp.end(), buf.begin()));
}

TEST_P(SrtpRoundTrip, TamperingAndReplayAreRejected) {
  const SrtpProfile profile = GetParam();
  auto tx =
      SrtpSession::create(profile, master(profile, 1), SrtpSession::Direction::kOutbound).value();
  auto rx =
      SrtpSession::create(profile, master(profile, 1), SrtpSession::Direction::kInbound).value();
  Bytes buf = rtp_packet(10);
  size_t len = buf.size();
  buf.resize(len + SrtpSession::kMaxTrailer);
  ASSERT_TRUE(tx->protect_rtp(buf.data(), len, buf.size()).ok());
  Bytes copy(buf.begin(), buf.begin() + ptrdiff_t(len));
  Bytes tampered = copy;
  tampered[20] ^= 1;
  size_t tlen = tampered.size();
  EXPECT_FALSE(rx->unprotect_rtp(tampered.data(), tlen).ok());
  size_t l1 = copy.size();
  Bytes first = copy;
  ASSERT_TRUE(rx->unprotect_rtp(first.data(), l1).ok());
  size_t l2 = copy.size();
  EXPECT_FALSE(rx->unprotect_rtp(copy.data(), l2).ok());  // replay
  // The sender may protect the same sequence number again (NACK answers).
  Bytes again = rtp_packet(10);
  size_t alen = again.size();
  again.resize(alen + SrtpSession::kMaxTrailer);
  EXPECT_TRUE(tx->protect_rtp(again.data(), alen, again.size()).ok());
}

TEST_P(SrtpRoundTrip, WrongKeyFailsAndShortInputIsAnError) {
  const SrtpProfile profile = GetParam();
  auto tx =
      SrtpSession::create(profile, master(profile, 1), SrtpSession::Direction::kOutbound).value();
  auto rx =
      SrtpSession::create(profile, master(profile, 2), SrtpSession::Direction::kInbound).value();
  Bytes buf = rtp_packet(1);
  size_t len = buf.size();
  buf.resize(len + SrtpSession::kMaxTrailer);
  ASSERT_TRUE(tx->protect_rtp(buf.data(), len, buf.size()).ok());
  EXPECT_FALSE(rx->unprotect_rtp(buf.data(), len).ok());
  uint8_t tiny[4] = {0x80, 96, 0, 1};
  size_t tl = 4;
  EXPECT_FALSE(rx->unprotect_rtp(tiny, tl).ok());
  size_t no_room = 12;
  uint8_t hdr[12] = {0x80, 96};
  EXPECT_FALSE(tx->protect_rtp(hdr, no_room, sizeof hdr).ok());
}

INSTANTIATE_TEST_SUITE_P(Profiles, SrtpRoundTrip,
                         ::testing::Values(SrtpProfile::kAes128CmSha1_80,
                                           SrtpProfile::kAeadAes128Gcm,
                                           SrtpProfile::kAeadAes256Gcm));

TEST(Srtp, RejectsAWrongMasterLength) {
  EXPECT_FALSE(
      SrtpSession::create(SrtpProfile::kAeadAes128Gcm, Bytes(30), SrtpSession::Direction::kInbound)
          .ok());
}

}  // namespace
}  // namespace lss
