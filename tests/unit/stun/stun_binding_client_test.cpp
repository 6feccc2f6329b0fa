// The STUN Binding client transaction behind PUBLIC_IP=auto: the request it
// sends, its retransmission schedule, and which answers it believes.
#include "stun/stun_binding_client.hpp"

#include <gtest/gtest.h>

#include "rfc5769_vectors.hpp"

namespace lss {
namespace {

using std::chrono::milliseconds;

TransactionId id_of(const Bytes& message) {
  TransactionId id;
  std::copy(message.begin() + 8, message.begin() + 20, id.begin());
  return id;
}

SocketAddress addr(const char* ip, uint16_t port) {
  return *SocketAddress::parse(ip, port);
}

TEST(StunBindingTransaction, RequestIsAPlainBindingRequestWithItsId) {
  const TransactionId id = random_transaction_id();
  StunBindingTransaction t(id, Clock::now());
  const Bytes& req = t.request();
  ASSERT_TRUE(looks_like_stun(req));
  auto m = StunMessage::parse(req);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->type(), stun::kBindingRequest);
  EXPECT_EQ(m->transaction_id(), id);
  EXPECT_TRUE(m->verify_fingerprint());
  EXPECT_FALSE(m->has_message_integrity());
  EXPECT_FALSE(m->username());
  EXPECT_EQ(req.size(), stun::kHeaderSize + stun::kFingerprintSize);
  // Ids are random: two transactions never share one.
  EXPECT_NE(random_transaction_id(), random_transaction_id());
}

TEST(StunBindingTransaction, RetransmitsWithDoublingIntervalsUntilTheTimeout) {
  const Timestamp t0 = Clock::now();
  StunBindingTransaction t(random_transaction_id(), t0);  // 2 s, RTO 500 ms
  EXPECT_TRUE(t.due(t0));
  EXPECT_FALSE(t.due(t0));  // once per slot
  EXPECT_EQ(t.next_event(), t0 + milliseconds(500));
  EXPECT_FALSE(t.due(t0 + milliseconds(499)));
  EXPECT_TRUE(t.due(t0 + milliseconds(500)));
  EXPECT_EQ(t.next_event(), t0 + milliseconds(1500));
  EXPECT_FALSE(t.due(t0 + milliseconds(1499)));
  EXPECT_TRUE(t.due(t0 + milliseconds(1500)));
  // The next one (3.5 s) is past the deadline: the deadline comes first.
  EXPECT_EQ(t.next_event(), t0 + milliseconds(2000));
  EXPECT_FALSE(t.timed_out(t0 + milliseconds(1999)));
  EXPECT_FALSE(t.done());
  EXPECT_TRUE(t.timed_out(t0 + milliseconds(2000)));
  EXPECT_EQ(t.state(), StunBindingTransaction::State::kTimedOut);
  EXPECT_FALSE(t.due(t0 + milliseconds(3500)));
  EXPECT_EQ(t.sends(), 3);
  EXPECT_EQ(t.error(), "no answer within 2000 ms (3 requests)");
}

TEST(StunBindingTransaction, Ipv4SuccessGivesTheXorMappedAddress) {
  const Timestamp t0 = Clock::now();
  StunBindingTransaction t(random_transaction_id(), t0);
  ASSERT_TRUE(t.due(t0));
  const Bytes resp = StunBuilder(stun::kBindingSuccess, t.id())
                         .add_xor_mapped_address(addr("203.0.113.7", 40000))
                         .finish({}, true);
  EXPECT_TRUE(t.handle_response(resp));
  ASSERT_EQ(t.state(), StunBindingTransaction::State::kMapped);
  EXPECT_EQ(*t.mapped_address(), addr("203.0.113.7", 40000));
  EXPECT_EQ(t.mapped_address()->ip_string(), "203.0.113.7");
  // Done: no more sends, no timeout, later answers are not taken.
  EXPECT_FALSE(t.due(t0 + milliseconds(500)));
  EXPECT_FALSE(t.timed_out(t0 + std::chrono::seconds(5)));
  EXPECT_FALSE(t.handle_response(resp));
  EXPECT_TRUE(t.error().empty());
}

TEST(StunBindingTransaction, Ipv6SuccessIsUnmaskedWithTheTransactionId) {
  const Timestamp t0 = Clock::now();
  StunBindingTransaction t(random_transaction_id(), t0);
  const SocketAddress v6 = addr("2001:db8:1234:5678:11:2233:4455:6677", 32853);
  const Bytes resp =
      StunBuilder(stun::kBindingSuccess, t.id()).add_xor_mapped_address(v6).finish({}, true);
  ASSERT_TRUE(t.handle_response(resp));
  ASSERT_EQ(t.state(), StunBindingTransaction::State::kMapped);
  EXPECT_EQ(*t.mapped_address(), v6);
  EXPECT_FALSE(t.mapped_address()->is_ipv4());
  EXPECT_EQ(t.mapped_address()->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

TEST(StunBindingTransaction, Rfc5769SampleResponsesAreTaken) {
  // The vectors carry MESSAGE-INTEGRITY (ignored here: a plain STUN
  // server's answer is not signed) and a FINGERPRINT, which must verify.
  StunBindingTransaction v4(id_of(rfc5769::kIpv4Response), Clock::now());
  ASSERT_TRUE(v4.handle_response(rfc5769::kIpv4Response));
  EXPECT_EQ(v4.mapped_address()->to_string(), "192.0.2.1:32853");
  StunBindingTransaction v6(id_of(rfc5769::kIpv6Response), Clock::now());
  ASSERT_TRUE(v6.handle_response(rfc5769::kIpv6Response));
  EXPECT_EQ(v6.mapped_address()->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

TEST(StunBindingTransaction, AnswersToOthersAreIgnored) {
  StunBindingTransaction t(random_transaction_id(), Clock::now());
  const SocketAddress a = addr("203.0.113.7", 1);
  // Another transaction's success.
  TransactionId other = t.id();
  other[11] ^= 1;
  EXPECT_FALSE(t.handle_response(
      StunBuilder(stun::kBindingSuccess, other).add_xor_mapped_address(a).finish({}, true)));
  // A request or indication with our id (a reflection of our own request).
  EXPECT_FALSE(t.handle_response(t.request()));
  EXPECT_FALSE(t.handle_response(StunBuilder(stun::kBindingIndication, t.id()).finish({}, true)));
  // Another method's success (Allocate, 0x0103).
  EXPECT_FALSE(
      t.handle_response(StunBuilder(0x0103, t.id()).add_xor_mapped_address(a).finish({}, true)));
  // Not STUN at all, and a truncated message.
  const Bytes junk = {0x80, 0x60, 0, 1, 2, 3, 4, 5};
  EXPECT_FALSE(t.handle_response(junk));
  Bytes good =
      StunBuilder(stun::kBindingSuccess, t.id()).add_xor_mapped_address(a).finish({}, true);
  EXPECT_FALSE(t.handle_response(ByteSpan(good.data(), good.size() - 4)));
  // A FINGERPRINT that does not verify: not STUN (RFC 8489 §7.3).
  Bytes bad = good;
  bad.back() ^= 0xff;
  EXPECT_FALSE(t.handle_response(bad));
  EXPECT_EQ(t.state(), StunBindingTransaction::State::kWaiting);
  EXPECT_TRUE(t.handle_response(good));
  EXPECT_EQ(*t.mapped_address(), a);
}

TEST(StunBindingTransaction, ErrorResponseFailsWithTheCodeAndReason) {
  StunBindingTransaction t(random_transaction_id(), Clock::now());
  const Bytes resp = StunBuilder(stun::kBindingError, t.id())
                         .add_error_code(420, "Unknown Attribute\x01")
                         .finish({}, true);
  ASSERT_TRUE(t.handle_response(resp));
  EXPECT_EQ(t.state(), StunBindingTransaction::State::kFailed);
  EXPECT_FALSE(t.mapped_address());
  EXPECT_EQ(t.error(), "error response 420 (Unknown Attribute?)");
}

TEST(StunBindingTransaction, SuccessWithoutAUsableAddressFails) {
  {
    StunBindingTransaction t(random_transaction_id(), Clock::now());
    ASSERT_TRUE(t.handle_response(StunBuilder(stun::kBindingSuccess, t.id()).finish({}, true)));
    EXPECT_EQ(t.state(), StunBindingTransaction::State::kFailed);
    EXPECT_EQ(t.error(), "success response without XOR-MAPPED-ADDRESS");
  }
  {
    StunBindingTransaction t(random_transaction_id(), Clock::now());
    ASSERT_TRUE(t.handle_response(StunBuilder(stun::kBindingSuccess, t.id())
                                      .add_xor_mapped_address(addr("0.0.0.0", 4000))
                                      .finish({}, true)));
    EXPECT_EQ(t.state(), StunBindingTransaction::State::kFailed);
    EXPECT_NE(t.error().find("unusable"), std::string::npos) << t.error();
  }
  {
    StunBindingTransaction t(random_transaction_id(), Clock::now());
    ASSERT_TRUE(t.handle_response(StunBuilder(stun::kBindingSuccess, t.id())
                                      .add_xor_mapped_address(addr("198.51.100.1", 0))
                                      .finish({}, true)));
    EXPECT_EQ(t.state(), StunBindingTransaction::State::kFailed);
  }
}

TEST(StunBindingTransaction, PlainMappedAddressFromAnOldServerIsTaken) {
  StunBindingTransaction t(random_transaction_id(), Clock::now());
  const uint8_t v4[8] = {0, 0x01, 0x9c, 0x40, 198, 51, 100, 9};  // 198.51.100.9:40000
  ASSERT_TRUE(t.handle_response(
      StunBuilder(stun::kBindingSuccess, t.id()).add(stun::kAttrMappedAddress, v4).finish({})));
  ASSERT_EQ(t.state(), StunBindingTransaction::State::kMapped);
  EXPECT_EQ(t.mapped_address()->to_string(), "198.51.100.9:40000");
  // XOR-MAPPED-ADDRESS wins where both are present.
  StunBindingTransaction both(random_transaction_id(), Clock::now());
  ASSERT_TRUE(both.handle_response(StunBuilder(stun::kBindingSuccess, both.id())
                                       .add(stun::kAttrMappedAddress, v4)
                                       .add_xor_mapped_address(addr("203.0.113.7", 5))
                                       .finish({})));
  EXPECT_EQ(both.mapped_address()->to_string(), "203.0.113.7:5");
}

TEST(StunMappedAddress, Ipv6AndMalformedValues) {
  uint8_t v6[20] = {0, 0x02, 0x12, 0x34};
  v6[4] = 0x20;
  v6[5] = 0x01;
  v6[6] = 0x0d;
  v6[7] = 0xb8;
  v6[19] = 0x09;
  const Bytes good = StunBuilder(stun::kBindingSuccess, random_transaction_id())
                         .add(stun::kAttrMappedAddress, v6)
                         .finish({});
  auto m = StunMessage::parse(good);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(stun_mapped_address(*m)->to_string(), "[2001:db8::9]:4660");
  const uint8_t wrong_family[8] = {0, 0x03, 0, 1, 1, 2, 3, 4};
  const Bytes bad = StunBuilder(stun::kBindingSuccess, random_transaction_id())
                        .add(stun::kAttrMappedAddress, wrong_family)
                        .finish({});
  auto mb = StunMessage::parse(bad);
  ASSERT_TRUE(mb.ok());
  EXPECT_FALSE(stun_mapped_address(*mb));
}

}  // namespace
}  // namespace lss
