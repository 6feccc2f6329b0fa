#include "stun/ice_lite_agent.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "rfc5769_vectors.hpp"
#include "stun/stun_message.hpp"

namespace lss {
namespace {

constexpr std::string_view kPwd = "serverpassword0123456789";
const TransactionId kTxid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

struct Check {
  std::string username = "srv1:cli1";
  std::string pwd = std::string(kPwd);
  bool use_candidate = false;
  bool priority = true;     // FFmpeg sends neither PRIORITY...
  bool controlling = true;  // ... nor ICE-CONTROLLING
  bool fingerprint = true;
  bool with_username = true;
  uint16_t type = stun::kBindingRequest;

  Bytes build() const {
    StunBuilder b(type, kTxid);
    if (with_username) b.add_string(stun::kAttrUsername, username);
    if (priority) b.add_u32(stun::kAttrPriority, 1853824767);
    if (controlling) b.add_u64(stun::kAttrIceControlling, 0x0102030405060708);
    if (use_candidate) b.add_flag(stun::kAttrUseCandidate);
    return b.finish(pwd, fingerprint);
  }
};

Check nominating() {
  Check c;
  c.use_candidate = true;
  return c;
}

class IceLiteAgentTest : public ::testing::Test {
 protected:
  IceResult send(const Check& c, const SocketAddress& src, Timestamp now) {
    return agent.handle_stun(c.build(), src, now);
  }
  IceResult send(const Check& c) { return send(c, from, t0); }

  const Timestamp t0 = Timestamp{} + std::chrono::hours(1);
  IceLiteAgent agent{"srv1", std::string(kPwd), "cli1", t0};
  const SocketAddress from = *SocketAddress::parse("192.0.2.7", 5555);
};

// Parses a response and checks what every response must carry.
StunMessage parse_response(const Bytes& b) {
  auto m = StunMessage::parse(b);
  EXPECT_TRUE(m.ok());
  if (!m.ok()) return StunMessage::parse(rfc5769::kIpv4Response).value();
  EXPECT_EQ(m->transaction_id(), kTxid);
  EXPECT_TRUE(m->verify_fingerprint());
  return *m;
}

TEST_F(IceLiteAgentTest, AnswersAValidCheckWithTheMappedAddress) {
  IceResult r = send(nominating());
  ASSERT_TRUE(r.authenticated) << r.error;
  EXPECT_TRUE(r.nominated);
  EXPECT_TRUE(r.error.empty());
  StunMessage resp = parse_response(r.response);
  EXPECT_EQ(resp.type(), stun::kBindingSuccess);
  EXPECT_TRUE(resp.verify_message_integrity(kPwd));
  EXPECT_EQ(resp.xor_mapped_address(), from);
  EXPECT_EQ(agent.selected_address(), from);
  EXPECT_TRUE(agent.nominated());
}

TEST_F(IceLiteAgentTest, AnswersIpv6Sources) {
  const auto v6 = *SocketAddress::parse("2001:db8::42", 61000);
  IceResult r = send(Check{}, v6, t0);
  ASSERT_TRUE(r.authenticated) << r.error;
  EXPECT_EQ(parse_response(r.response).xor_mapped_address(), v6);
}

TEST_F(IceLiteAgentTest, WrongPasswordGets401AndChangesNothing) {
  Check c = nominating();
  c.pwd = "not the password at all";
  IceResult r = send(c, from, t0 + std::chrono::seconds(10));
  EXPECT_FALSE(r.authenticated);
  EXPECT_FALSE(r.nominated);
  EXPECT_FALSE(r.error.empty());
  StunMessage resp = parse_response(r.response);
  EXPECT_EQ(resp.type(), stun::kBindingError);
  EXPECT_EQ(resp.error_code(), 401);
  EXPECT_FALSE(resp.has_message_integrity());
  EXPECT_FALSE(agent.selected_address());
  EXPECT_EQ(agent.last_valid_check(), t0);
}

TEST_F(IceLiteAgentTest, WrongUfragGets401) {
  for (const char* user :
       {"other:cli1", "srv1:evil", "srv1:", "srv1", "srv1x:cli1", "srv:cli1", "srv1:cli1x", ""}) {
    Check c;
    c.username = user;
    IceResult r = send(c);
    EXPECT_FALSE(r.authenticated) << user;
    EXPECT_EQ(parse_response(r.response).error_code(), 401) << user;
  }
  EXPECT_FALSE(agent.selected_address());
}

TEST_F(IceLiteAgentTest, UnknownRemoteUfragAcceptsAnyNonEmptyOne) {
  IceLiteAgent open{"srv1", std::string(kPwd), "", t0};
  Check c;
  c.username = "srv1:whoever";
  EXPECT_TRUE(open.handle_stun(c.build(), from, t0).authenticated);
  c.username = "srv1:";
  EXPECT_FALSE(open.handle_stun(c.build(), from, t0).authenticated);
  c.username = "srv2:whoever";
  EXPECT_FALSE(open.handle_stun(c.build(), from, t0).authenticated);
}

TEST_F(IceLiteAgentTest, MissingFingerprintGets400) {
  Check c;
  c.fingerprint = false;
  IceResult r = send(c);
  EXPECT_FALSE(r.authenticated);
  auto resp = StunMessage::parse(r.response);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->error_code(), 400);
}

TEST_F(IceLiteAgentTest, BadFingerprintIsDroppedSilently) {
  Bytes b = Check{}.build();
  b.back() ^= 0xff;
  IceResult r = agent.handle_stun(b, from, t0);
  EXPECT_FALSE(r.authenticated);
  EXPECT_TRUE(r.response.empty());
  EXPECT_FALSE(r.error.empty());
}

TEST_F(IceLiteAgentTest, MissingUsernameOrIntegrityGets400) {
  Check no_user;
  no_user.with_username = false;
  IceResult r = send(no_user);
  EXPECT_FALSE(r.authenticated);
  EXPECT_EQ(parse_response(r.response).error_code(), 400);

  Bytes no_mi = StunBuilder(stun::kBindingRequest, kTxid)
                    .add_string(stun::kAttrUsername, "srv1:cli1")
                    .finish({}, true);
  r = agent.handle_stun(no_mi, from, t0);
  EXPECT_FALSE(r.authenticated);
  EXPECT_EQ(parse_response(r.response).error_code(), 400);
}

TEST_F(IceLiteAgentTest, AcceptsChecksWithoutPriorityOrRoleLikeFfmpeg) {
  Check c = nominating();
  c.priority = false;
  c.controlling = false;
  IceResult r = send(c);
  EXPECT_TRUE(r.authenticated) << r.error;
  EXPECT_TRUE(r.nominated);
}

TEST_F(IceLiteAgentTest, AnswersChromeChecksWithGoogAttributesAndRoleConflicts) {
  const uint8_t info[] = {0x00, 0x01, 0x00, 0x0a};
  Bytes b = StunBuilder(stun::kBindingRequest, kTxid)
                .add_string(stun::kAttrUsername, "srv1:cli1")
                .add(stun::kAttrGoogNetworkInfo, info)
                .add_u64(stun::kAttrIceControlled, 5)  // a role conflict: answered anyway
                .add_u32(stun::kAttrPriority, 1)
                .finish(kPwd, true);
  IceResult r = agent.handle_stun(b, from, t0);
  EXPECT_TRUE(r.authenticated) << r.error;
  EXPECT_EQ(parse_response(r.response).type(), stun::kBindingSuccess);
}

TEST_F(IceLiteAgentTest, Rfc5769SampleRequestAuthenticates) {
  IceLiteAgent rfc{"evtj", std::string(rfc5769::kPassword), "h6vY", t0};
  IceResult r = rfc.handle_stun(rfc5769::kSampleRequest, from, t0);
  EXPECT_TRUE(r.authenticated) << r.error;
  auto resp = StunMessage::parse(r.response);
  ASSERT_TRUE(resp.ok());
  EXPECT_TRUE(resp->verify_message_integrity(rfc5769::kPassword));
  EXPECT_EQ(resp->xor_mapped_address(), from);
}

TEST_F(IceLiteAgentTest, IndicationsAreIgnoredAndResponsesDropped) {
  Check ind;
  ind.type = stun::kBindingIndication;
  IceResult r = send(ind);
  EXPECT_TRUE(r.response.empty());
  EXPECT_TRUE(r.error.empty());
  EXPECT_FALSE(r.authenticated);

  Check resp;
  resp.type = stun::kBindingSuccess;
  r = send(resp);
  EXPECT_TRUE(r.response.empty());
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(r.authenticated);
  EXPECT_EQ(agent.last_valid_check(), t0);
}

TEST_F(IceLiteAgentTest, OtherRequestMethodsGet400) {
  Check allocate;
  allocate.type = 0x0003;  // TURN Allocate
  IceResult r = send(allocate);
  EXPECT_FALSE(r.authenticated);
  StunMessage m = parse_response(r.response);
  EXPECT_EQ(m.method(), 0x003);
  EXPECT_EQ(m.message_class(), StunClass::kError);
  EXPECT_EQ(m.error_code(), 400);
}

TEST_F(IceLiteAgentTest, NominationSwitchesTheSelectedAddress) {
  const auto other = *SocketAddress::parse("198.51.100.2", 6000);
  const auto third = *SocketAddress::parse("198.51.100.3", 7000);
  ASSERT_TRUE(send(Check{}, from, t0).authenticated);
  EXPECT_EQ(agent.selected_address(), from);  // first valid carries media
  EXPECT_FALSE(agent.nominated());
  ASSERT_TRUE(send(Check{}, other, t0).authenticated);
  EXPECT_EQ(agent.selected_address(), from);  // not nominated: stays
  ASSERT_TRUE(send(nominating(), other, t0).authenticated);
  EXPECT_EQ(agent.selected_address(), other);
  EXPECT_TRUE(agent.nominated());
  ASSERT_TRUE(send(Check{}, third, t0).authenticated);
  EXPECT_EQ(agent.selected_address(), other);  // consent checks elsewhere do not move it
  ASSERT_TRUE(send(nominating(), third, t0).authenticated);
  EXPECT_EQ(agent.selected_address(), third);  // the latest nomination wins
  // A forged nomination from elsewhere does not move it.
  Check forged = nominating();
  forged.pwd = "guessed-password-000000";
  send(forged, from, t0);
  EXPECT_EQ(agent.selected_address(), third);
}

TEST_F(IceLiteAgentTest, ConsentExpiresWithoutValidChecks) {
  using std::chrono::seconds;
  const auto timeout = seconds(15);
  EXPECT_EQ(agent.last_valid_check(), t0);
  EXPECT_FALSE(agent.consent_expired(t0 + seconds(10), timeout));
  EXPECT_FALSE(agent.consent_expired(t0 + seconds(15) - std::chrono::milliseconds(1), timeout));
  EXPECT_TRUE(agent.consent_expired(t0 + seconds(15), timeout));
  ASSERT_TRUE(send(Check{}, from, t0 + seconds(14)).authenticated);
  EXPECT_EQ(agent.last_valid_check(), t0 + seconds(14));
  EXPECT_FALSE(agent.consent_expired(t0 + seconds(20), timeout));
  // Failed checks and garbage do not refresh consent.
  Check bad;
  bad.pwd = "bad-password-bad-password";
  send(bad, from, t0 + seconds(25));
  agent.handle_stun(Bytes{0, 1, 0, 0}, from, t0 + seconds(26));
  EXPECT_EQ(agent.last_valid_check(), t0 + seconds(14));
  EXPECT_TRUE(agent.consent_expired(t0 + seconds(30), timeout));
  ASSERT_TRUE(send(Check{}, from, t0 + seconds(31)).authenticated);
  EXPECT_FALSE(agent.consent_expired(t0 + seconds(32), timeout));
}

TEST_F(IceLiteAgentTest, TruncatedAndGarbageInputNeverAuthenticates) {
  const Bytes good = nominating().build();
  for (size_t n = 0; n < good.size(); ++n) {
    Bytes prefix(good.begin(), good.begin() + ptrdiff_t(n));
    IceResult r = agent.handle_stun(prefix, from, t0);
    EXPECT_FALSE(r.authenticated) << n;
    EXPECT_TRUE(r.response.empty()) << n;
  }
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk(rng() % 128);
    for (auto& b : junk) b = uint8_t(rng());
    if (junk.size() >= 20 && i % 2) {  // half of them get a plausible header
      junk[0] = 0;
      junk[1] = 1;
      store_be16(junk.data() + 2, uint16_t((junk.size() - 20) & ~3u));
      store_be32(junk.data() + 4, stun::kMagicCookie);
    }
    EXPECT_FALSE(agent.handle_stun(junk, from, t0).authenticated);
  }
  EXPECT_FALSE(agent.selected_address());
}

// Checks built by an independent implementation (Python's hmac and zlib, see
// the fuzz seeds of the same name) with the RFC 5769 password and ufrag evtj.
Bytes read_data_file(const std::string& name) {
  std::ifstream f(std::string(LSS_TEST_DATA_DIR) + "/stun/" + name, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

TEST_F(IceLiteAgentTest, ChecksFromAnotherImplementationAuthenticate) {
  IceLiteAgent rfc{"evtj", std::string(rfc5769::kPassword), "", t0};
  const Bytes ffmpeg = read_data_file("ffmpeg_style_check.bin");
  ASSERT_FALSE(ffmpeg.empty());
  IceResult r = rfc.handle_stun(ffmpeg, from, t0);
  EXPECT_TRUE(r.authenticated) << r.error;
  EXPECT_FALSE(r.nominated);
  const Bytes chrome = read_data_file("chrome_style_nomination.bin");
  ASSERT_FALSE(chrome.empty());
  r = rfc.handle_stun(chrome, from, t0);
  EXPECT_TRUE(r.authenticated) << r.error;
  EXPECT_TRUE(r.nominated);
  EXPECT_EQ(stun_local_ufrag(chrome), "evtj");
}

}  // namespace
}  // namespace lss
