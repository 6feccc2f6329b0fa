#include "stun/stun_message.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "rfc5769_vectors.hpp"

namespace lss {
namespace {

using rfc5769::kIpv4Response;
using rfc5769::kIpv6Response;
using rfc5769::kPassword;
using rfc5769::kSampleRequest;

Bytes read_data_file(const std::string& name) {
  std::ifstream f(std::string(LSS_TEST_DATA_DIR) + "/stun/" + name, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

// Rewrites the trailing FINGERPRINT so a test can change bytes before it and
// still present a well-formed message.
void refresh_fingerprint(Bytes& m) {
  ASSERT_GE(m.size(), 28u);
  store_be16(m.data() + 2, uint16_t(m.size() - 20));
  store_be32(m.data() + m.size() - 4,
             crc32(ByteSpan(m.data(), m.size() - 8)) ^ stun::kFingerprintXor);
}

TEST(StunRfc5769, DataFilesHoldTheVectors) {
  EXPECT_EQ(read_data_file("rfc5769_2_1_request.bin"), kSampleRequest);
  EXPECT_EQ(read_data_file("rfc5769_2_2_ipv4_response.bin"), kIpv4Response);
  EXPECT_EQ(read_data_file("rfc5769_2_3_ipv6_response.bin"), kIpv6Response);
}

TEST(StunRfc5769, SampleRequest) {
  ASSERT_TRUE(looks_like_stun(kSampleRequest));
  auto m = StunMessage::parse(kSampleRequest);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->type(), stun::kBindingRequest);
  EXPECT_EQ(m->method(), stun::kMethodBinding);
  EXPECT_EQ(m->message_class(), StunClass::kRequest);
  EXPECT_EQ(m->attributes().size(), 6u);
  EXPECT_EQ(m->transaction_id()[0], 0xb7);
  EXPECT_EQ(m->transaction_id()[11], 0xae);
  EXPECT_EQ(m->username(), "evtj:h6vY");
  EXPECT_EQ(m->priority(), 0x6e0001ffu);
  EXPECT_EQ(m->ice_controlled(), 0x932ff9b151263b36u);
  EXPECT_FALSE(m->ice_controlling());
  EXPECT_FALSE(m->has_use_candidate());
  const auto* sw = m->find(stun::kAttrSoftware);
  ASSERT_NE(sw, nullptr);
  EXPECT_EQ(std::string(sw->value.begin(), sw->value.end()), "STUN test client");
  EXPECT_TRUE(m->verify_fingerprint());
  EXPECT_TRUE(m->verify_message_integrity(kPassword));
  EXPECT_FALSE(m->verify_message_integrity("VOkJxbRl1RmTxUk/WvJxBT"));
  EXPECT_FALSE(m->verify_message_integrity(""));
  EXPECT_TRUE(verify_message_integrity(kSampleRequest, kPassword));
  EXPECT_TRUE(verify_fingerprint(kSampleRequest));
  EXPECT_EQ(stun_local_ufrag(kSampleRequest), "evtj");
  EXPECT_EQ(stun_message_class(kSampleRequest), StunClass::kRequest);
}

TEST(StunRfc5769, SampleIPv4Response) {
  auto m = StunMessage::parse(kIpv4Response);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->message_class(), StunClass::kSuccess);
  EXPECT_EQ(m->method(), stun::kMethodBinding);
  EXPECT_TRUE(m->verify_fingerprint());
  EXPECT_TRUE(m->verify_message_integrity(kPassword));
  auto a = m->xor_mapped_address();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "192.0.2.1:32853");
  EXPECT_FALSE(stun_local_ufrag(kIpv4Response));  // not a request
  EXPECT_EQ(stun_message_class(kIpv4Response), StunClass::kSuccess);
  // From the header alone; what is not STUN has no class.
  Bytes cut(kIpv4Response.begin(), kIpv4Response.begin() + 10);
  EXPECT_FALSE(stun_message_class(cut));
}

TEST(StunRfc5769, SampleIPv6Response) {
  auto m = StunMessage::parse(kIpv6Response);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->verify_fingerprint());
  EXPECT_TRUE(m->verify_message_integrity(kPassword));
  auto a = m->xor_mapped_address();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

// §2.4 (long-term credentials, MD5 key over SASLprep'd user:realm:password)
// is skipped: ICE only uses short-term credentials.

TransactionId txid_of(const Bytes& m) {
  TransactionId id;
  std::copy(m.begin() + 8, m.begin() + 20, id.begin());
  return id;
}

// Byte-for-byte except padding: the RFC pads SOFTWARE with spaces, we pad
// with zeros (RFC 8489 lets padding hold anything), which changes the HMAC
// and CRC but nothing else.
void expect_equal_except(const Bytes& ours, const Bytes& rfc, size_t pad_begin, size_t pad_end,
                         size_t trailers_begin) {
  ASSERT_EQ(ours.size(), rfc.size());
  for (size_t i = 0; i < trailers_begin; ++i) {
    if (i >= pad_begin && i < pad_end) continue;
    EXPECT_EQ(ours[i], rfc[i]) << "byte " << i;
  }
}

TEST(StunRfc5769, BuilderReproducesTheIPv4Response) {
  Bytes out = StunBuilder(stun::kBindingSuccess, txid_of(kIpv4Response))
                  .add_string(stun::kAttrSoftware, "test vector")
                  .add_xor_mapped_address(*SocketAddress::parse("192.0.2.1", 32853))
                  .finish(kPassword, true);
  expect_equal_except(out, kIpv4Response, 35, 36, 52);
  auto m = StunMessage::parse(out);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->verify_fingerprint());
  EXPECT_TRUE(m->verify_message_integrity(kPassword));
}

TEST(StunRfc5769, BuilderReproducesTheIPv6Response) {
  Bytes out = StunBuilder(stun::kBindingSuccess, txid_of(kIpv6Response))
                  .add_string(stun::kAttrSoftware, "test vector")
                  .add_xor_mapped_address(
                      *SocketAddress::parse("2001:db8:1234:5678:11:2233:4455:6677", 32853))
                  .finish(kPassword, true);
  expect_equal_except(out, kIpv6Response, 35, 36, 64);
  EXPECT_TRUE(verify_message_integrity(out, kPassword));
  EXPECT_TRUE(verify_fingerprint(out));
}

TEST(StunRfc5769, BuilderReproducesTheRequestAttributes) {
  Bytes out = StunBuilder(stun::kBindingRequest, txid_of(kSampleRequest))
                  .add_string(stun::kAttrSoftware, "STUN test client")
                  .add_u32(stun::kAttrPriority, 0x6e0001ff)
                  .add_u64(stun::kAttrIceControlled, 0x932ff9b151263b36)
                  .add_string(stun::kAttrUsername, "evtj:h6vY")
                  .finish(kPassword, true);
  expect_equal_except(out, kSampleRequest, 73, 76, 76);
  EXPECT_TRUE(verify_message_integrity(out, kPassword));
  EXPECT_TRUE(verify_fingerprint(out));
}

TEST(StunMessage, EveryBitFlipIsDetected) {
  for (size_t i = 0; i < kSampleRequest.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes copy = kSampleRequest;
      copy[i] ^= uint8_t(1 << bit);
      auto m = StunMessage::parse(copy);
      if (!m.ok()) continue;
      EXPECT_FALSE(m->verify_fingerprint()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(StunMessage, IntegrityCatchesChangesBehindAFixedFingerprint) {
  // An attacker can always recompute the CRC; only the HMAC protects.
  for (size_t i = 20; i < 100; ++i) {  // every byte before FINGERPRINT
    Bytes copy = kSampleRequest;
    copy[i] ^= 0x01;
    refresh_fingerprint(copy);
    auto m = StunMessage::parse(copy);
    if (!m.ok()) continue;
    EXPECT_TRUE(m->verify_fingerprint());
    EXPECT_FALSE(m->verify_message_integrity(kPassword)) << "byte " << i;
  }
}

TEST(StunMessage, PaddingBytesAreCoveredByTheHmac) {
  Bytes copy = kSampleRequest;
  copy[74] = 0x00;  // USERNAME padding, a space in the RFC
  refresh_fingerprint(copy);
  EXPECT_FALSE(verify_message_integrity(copy, kPassword));
}

TEST(StunMessage, AttributesAfterIntegrityAreIgnored) {
  // Append USE-CANDIDATE after MESSAGE-INTEGRITY, then FINGERPRINT again: the
  // HMAC still verifies, so the added attribute must not be believed.
  Bytes forged(kSampleRequest.begin(), kSampleRequest.end() - 8);
  const uint8_t use_candidate[] = {0x00, 0x25, 0x00, 0x00};
  forged.insert(forged.end(), std::begin(use_candidate), std::end(use_candidate));
  const uint8_t fp[] = {0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0};
  forged.insert(forged.end(), std::begin(fp), std::end(fp));
  refresh_fingerprint(forged);
  auto m = StunMessage::parse(forged);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(m->verify_fingerprint());
  EXPECT_TRUE(m->verify_message_integrity(kPassword));
  EXPECT_FALSE(m->has_use_candidate());
}

TEST(StunMessage, NothingMayFollowTheFingerprint) {
  Bytes m = kSampleRequest;
  const uint8_t extra[] = {0x80, 0x22, 0x00, 0x00};
  m.insert(m.end(), std::begin(extra), std::end(extra));
  store_be16(m.data() + 2, uint16_t(m.size() - 20));
  EXPECT_FALSE(StunMessage::parse(m).ok());
  EXPECT_FALSE(verify_fingerprint(m));
}

TEST(StunMessage, HeaderOnlyMessageParses) {
  TransactionId txid{};
  Bytes m = StunBuilder(stun::kBindingRequest, txid).finish({}, false);
  ASSERT_EQ(m.size(), 20u);
  auto p = StunMessage::parse(m);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->attributes().empty());
  EXPECT_FALSE(p->verify_fingerprint());
  EXPECT_FALSE(p->verify_message_integrity("x"));
  EXPECT_FALSE(stun_local_ufrag(m));
}

TEST(StunMessage, AttributeCountIsBounded) {
  TransactionId txid{};
  StunBuilder ok(stun::kBindingIndication, txid);
  for (size_t i = 0; i < stun::kMaxAttributes; ++i) ok.add_flag(0x8000 + uint16_t(i));
  EXPECT_TRUE(StunMessage::parse(ok.finish({}, false)).ok());
  StunBuilder too_many(stun::kBindingIndication, txid);
  for (size_t i = 0; i <= stun::kMaxAttributes; ++i) too_many.add_flag(0x8000 + uint16_t(i));
  EXPECT_FALSE(StunMessage::parse(too_many.finish({}, false)).ok());
}

TEST(StunMessage, MalformedHeadersAreRejected) {
  for (size_t n = 0; n < kSampleRequest.size(); ++n) {
    Bytes prefix(kSampleRequest.begin(), kSampleRequest.begin() + ptrdiff_t(n));
    EXPECT_FALSE(StunMessage::parse(prefix).ok()) << n;  // the length field disagrees
    EXPECT_FALSE(looks_like_stun(prefix));
    EXPECT_FALSE(stun_local_ufrag(prefix));
  }
  Bytes m = kSampleRequest;
  m[0] |= 0x40;  // top bits must be zero
  EXPECT_FALSE(StunMessage::parse(m).ok());
  EXPECT_FALSE(looks_like_stun(m));
  m = kSampleRequest;
  m[5] ^= 1;  // magic cookie
  EXPECT_FALSE(StunMessage::parse(m).ok());
  EXPECT_FALSE(looks_like_stun(m));
  m = kSampleRequest;
  m.push_back(0);  // datagram longer than the length field says
  EXPECT_FALSE(StunMessage::parse(m).ok());
  m = kSampleRequest;
  m[23] = 0x11;  // SOFTWARE length 17: runs into the next attribute but fits
  auto shifted = StunMessage::parse(m);
  EXPECT_FALSE(shifted.ok() && shifted->verify_message_integrity(kPassword));
  m = kSampleRequest;
  m[22] = 0xff;  // SOFTWARE length past the end
  EXPECT_FALSE(StunMessage::parse(m).ok());
  EXPECT_FALSE(StunMessage::parse(Bytes(20, 0)).ok());  // no magic cookie
}

TEST(StunMessage, LooksLikeStunFollowsRfc7983) {
  EXPECT_TRUE(looks_like_stun(kSampleRequest));
  Bytes m = kSampleRequest;
  m[0] = 0x80;  // RTP
  EXPECT_FALSE(looks_like_stun(m));
  m[0] = 22;  // DTLS handshake
  EXPECT_FALSE(looks_like_stun(m));
  m = kSampleRequest;
  m[3] = 0x57;  // length not a multiple of 4
  EXPECT_FALSE(looks_like_stun(m));
}

TEST(StunMessage, TypeSplitsIntoMethodAndClass) {
  TransactionId txid{};
  struct Case {
    uint16_t type, method;
    StunClass cls;
  } cases[] = {{0x0001, 0x001, StunClass::kRequest}, {0x0011, 0x001, StunClass::kIndication},
               {0x0101, 0x001, StunClass::kSuccess}, {0x0111, 0x001, StunClass::kError},
               {0x0003, 0x003, StunClass::kRequest}, {0x3EEF, 0xFFF, StunClass::kRequest},
               {0x3FFF, 0xFFF, StunClass::kError}};
  for (const auto& c : cases) {
    Bytes b = StunBuilder(c.type, txid).finish({}, false);
    auto m = StunMessage::parse(b);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->method(), c.method) << std::hex << c.type;
    EXPECT_EQ(m->message_class(), c.cls) << std::hex << c.type;
  }
}

TEST(StunBuilder, ErrorCodeRoundTrip) {
  TransactionId txid{9};
  for (int code : {400, 401, 487}) {
    Bytes b =
        StunBuilder(stun::kBindingError, txid).add_error_code(code, "Reason").finish({}, true);
    auto m = StunMessage::parse(b);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->error_code(), code);
    EXPECT_EQ(m->error_reason(), "Reason");
    EXPECT_TRUE(m->verify_fingerprint());
    EXPECT_FALSE(m->has_message_integrity());
  }
  Bytes b = StunBuilder(stun::kBindingError, txid).add_error_code(42, "").finish({}, false);
  EXPECT_EQ(StunMessage::parse(b)->error_code(), 500);
  Bytes bad = b;
  bad[26] = 0x07;  // class 7 is not an error class
  EXPECT_FALSE(StunMessage::parse(bad)->error_code());
}

TEST(StunBuilder, RoundTripWithIntegrityAndIpv6Address) {
  TransactionId txid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const auto addr = *SocketAddress::parse("2001:db8::1", 443);
  Bytes b = StunBuilder(stun::kBindingSuccess, txid)
                .add_xor_mapped_address(addr)
                .finish("secret-password-22chars", true);
  auto m = StunMessage::parse(b);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->transaction_id(), txid);
  EXPECT_EQ(m->xor_mapped_address(), addr);
  EXPECT_TRUE(m->verify_message_integrity("secret-password-22chars"));
  EXPECT_TRUE(m->verify_fingerprint());
  // MESSAGE-INTEGRITY without FINGERPRINT verifies too (length ends at MI).
  Bytes no_fp = StunBuilder(stun::kBindingSuccess, txid)
                    .add_xor_mapped_address(addr)
                    .finish("secret-password-22chars", false);
  EXPECT_TRUE(verify_message_integrity(no_fp, "secret-password-22chars"));
  EXPECT_FALSE(verify_fingerprint(no_fp));
}

TEST(StunBuilder, OversizedMessageYieldsNothing) {
  TransactionId txid{};
  const Bytes big(40000, 'x');
  Bytes b = StunBuilder(stun::kBindingRequest, txid)
                .add(stun::kAttrSoftware, big)
                .add(stun::kAttrSoftware, big)
                .finish("pwd", true);
  EXPECT_TRUE(b.empty());
  // The largest body that fits still leaves room for both trailers.
  Bytes fits = StunBuilder(stun::kBindingRequest, txid)
                   .add(stun::kAttrSoftware, Bytes(0xFFFC - 32 - 4, 'y'))
                   .finish("pwd", true);
  ASSERT_FALSE(fits.empty());
  EXPECT_TRUE(verify_message_integrity(fits, "pwd"));
  EXPECT_TRUE(verify_fingerprint(fits));
}

TEST(StunLocalUfrag, PeeksAtTheRecipientUfrag) {
  TransactionId txid{};
  auto request = [&](std::string_view user) {
    return StunBuilder(stun::kBindingRequest, txid)
        .add_u32(stun::kAttrPriority, 1)
        .add_string(stun::kAttrUsername, user)
        .finish("pwd", true);
  };
  EXPECT_EQ(stun_local_ufrag(request("srv1:cli1")), "srv1");
  EXPECT_EQ(stun_local_ufrag(request("srv1:")), "srv1");
  EXPECT_FALSE(stun_local_ufrag(request("srv1")));
  EXPECT_FALSE(stun_local_ufrag(request(":cli1")));
  // USERNAME after MESSAGE-INTEGRITY is unauthenticated and ignored.
  Bytes late = StunBuilder(stun::kBindingRequest, txid).finish("pwd", false);
  const uint8_t user[] = {0x00, 0x06, 0x00, 0x03, 'a', ':', 'b', 0};
  late.insert(late.end(), std::begin(user), std::end(user));
  store_be16(late.data() + 2, uint16_t(late.size() - 20));
  EXPECT_FALSE(stun_local_ufrag(late));
}

TEST(StunMessage, ChromeStyleCheckWithGoogAttributesVerifies) {
  TransactionId txid{7, 7, 7};
  const uint8_t network_info[] = {0x00, 0x01, 0x00, 0x0a};
  Bytes b = StunBuilder(stun::kBindingRequest, txid)
                .add_string(stun::kAttrUsername, "srv1:cli1")
                .add(stun::kAttrGoogNetworkInfo, network_info)
                .add(0x7777, network_info)  // unknown comprehension-required: tolerated
                .add_u64(stun::kAttrIceControlling, 0x1122334455667788)
                .add_flag(stun::kAttrUseCandidate)
                .add_u32(stun::kAttrPriority, 1853824767)
                .finish("pwd-pwd-pwd-pwd-pwd-pwd", true);
  auto m = StunMessage::parse(b);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->verify_message_integrity("pwd-pwd-pwd-pwd-pwd-pwd"));
  EXPECT_TRUE(m->verify_fingerprint());
  EXPECT_TRUE(m->has_use_candidate());
  EXPECT_EQ(m->ice_controlling(), 0x1122334455667788u);
  EXPECT_EQ(m->priority(), 1853824767u);
}

}  // namespace
}  // namespace lss
