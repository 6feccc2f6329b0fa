// The ICE-lite agent across an ICE restart, and the addresses it follows.
#include <gtest/gtest.h>

#include "stun/ice_lite_agent.hpp"
#include "stun/stun_message.hpp"

namespace lss {
namespace {

constexpr std::string_view kOldPwd = "serverpassword0123456789";
constexpr std::string_view kNewPwd = "NEWserverpassword0123456";

Bytes check(const std::string& username, std::string_view pwd, bool use_candidate) {
  TransactionId txid{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
  StunBuilder b(stun::kBindingRequest, txid);
  b.add_string(stun::kAttrUsername, username);
  b.add_u32(stun::kAttrPriority, 1853824767);
  if (use_candidate) b.add_flag(stun::kAttrUseCandidate);
  return b.finish(pwd, true);
}

class IceRestartTest : public ::testing::Test {
 protected:
  IceResult send(const std::string& username, std::string_view pwd, bool nominate,
                 const SocketAddress& src) {
    now += std::chrono::milliseconds(100);
    return agent.handle_stun(check(username, pwd, nominate), src, now);
  }
  static bool signed_with(const IceResult& r, std::string_view pwd) {
    auto m = StunMessage::parse(r.response);
    return m.ok() && m->type() == stun::kBindingSuccess && m->verify_message_integrity(pwd);
  }

  Timestamp now = Timestamp{} + std::chrono::hours(1);
  IceLiteAgent agent{"srv1", std::string(kOldPwd), "cli1", now};
  const SocketAddress a = *SocketAddress::parse("192.0.2.7", 5555);
  const SocketAddress b = *SocketAddress::parse("198.51.100.9", 6666);
};

TEST_F(IceRestartTest, OldCredentialsWorkUntilTheNewOnesAreNominated) {
  ASSERT_TRUE(send("srv1:cli1", kOldPwd, true, a).authenticated);
  agent.restart("srv2", std::string(kNewPwd), "cli2");
  EXPECT_TRUE(agent.restart_pending());
  EXPECT_EQ(agent.local_ufrag(), "srv2");
  EXPECT_EQ(agent.remote_ufrag(), "cli2");

  // In-flight and consent checks of the old generation: answered, signed
  // with the old password.
  IceResult old = send("srv1:cli1", kOldPwd, true, a);
  ASSERT_TRUE(old.authenticated) << old.error;
  EXPECT_TRUE(old.previous_credentials);
  EXPECT_FALSE(old.restart_completed);
  EXPECT_TRUE(signed_with(old, kOldPwd));
  // The old ufrag with the new peer ufrag (or passwords crossed): refused.
  EXPECT_FALSE(send("srv1:cli2", kOldPwd, false, a).authenticated);
  EXPECT_FALSE(send("srv2:cli2", kOldPwd, false, a).authenticated);
  EXPECT_FALSE(send("srv2:cli1", kNewPwd, false, a).authenticated);

  // A new-generation check without nomination: valid, restart still pending.
  IceResult probe = send("srv2:cli2", kNewPwd, false, a);
  ASSERT_TRUE(probe.authenticated);
  EXPECT_FALSE(probe.previous_credentials);
  EXPECT_TRUE(signed_with(probe, kNewPwd));
  EXPECT_TRUE(agent.restart_pending());
  EXPECT_TRUE(send("srv1:cli1", kOldPwd, false, a).authenticated);

  // Nominated with the new credentials: done; the old ones get 401.
  IceResult done = send("srv2:cli2", kNewPwd, true, a);
  ASSERT_TRUE(done.authenticated);
  EXPECT_TRUE(done.restart_completed);
  EXPECT_FALSE(agent.restart_pending());
  IceResult late = send("srv1:cli1", kOldPwd, true, a);
  EXPECT_FALSE(late.authenticated);
  auto resp = StunMessage::parse(late.response);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->type(), stun::kBindingError);
  EXPECT_EQ(agent.selected_address(), a);
}

TEST_F(IceRestartTest, ASecondRestartReplacesThePendingOneNotTheOneInUse) {
  ASSERT_TRUE(send("srv1:cli1", kOldPwd, true, a).authenticated);
  agent.restart("srv2", std::string(kNewPwd), "cli2");
  agent.restart("srv3", "THIRDpassword0123456789x", "cli3");
  EXPECT_TRUE(send("srv1:cli1", kOldPwd, true, a).authenticated);        // in use: kept
  EXPECT_FALSE(send("srv2:cli2", kNewPwd, true, a).authenticated);       // superseded
  IceResult r = send("srv3:cli3", "THIRDpassword0123456789x", true, b);  // new path too
  ASSERT_TRUE(r.authenticated);
  EXPECT_TRUE(r.restart_completed);
  EXPECT_EQ(agent.selected_address(), b);
  EXPECT_FALSE(send("srv1:cli1", kOldPwd, true, a).authenticated);
}

TEST_F(IceRestartTest, MediaFromAValidatedAddressMovesTheSelection) {
  ASSERT_TRUE(send("srv1:cli1", kOldPwd, true, a).authenticated);
  // Nobody checked from b yet: media from there moves nothing.
  EXPECT_FALSE(agent.select_if_validated(b));
  EXPECT_EQ(agent.selected_address(), a);
  // A valid check from b without USE-CANDIDATE (a NAT rebinding under
  // regular nomination) validates it but keeps the selection...
  ASSERT_TRUE(send("srv1:cli1", kOldPwd, false, b).authenticated);
  EXPECT_EQ(agent.selected_address(), a);
  EXPECT_TRUE(agent.validated(b));
  // ... until media arrives from b.
  EXPECT_TRUE(agent.select_if_validated(b));
  EXPECT_EQ(agent.selected_address(), b);
  EXPECT_FALSE(agent.select_if_validated(b));  // already there
  // A failed check validates nothing.
  const SocketAddress c = *SocketAddress::parse("203.0.113.1", 7777);
  EXPECT_FALSE(send("srv1:cli1", "wrongpassword0123456789x", true, c).authenticated);
  EXPECT_FALSE(agent.validated(c));
  EXPECT_FALSE(agent.select_if_validated(c));
}

TEST_F(IceRestartTest, ValidatedAddressesAreBoundedAndKeepTheSelectedOne) {
  ASSERT_TRUE(send("srv1:cli1", kOldPwd, true, a).authenticated);
  std::vector<SocketAddress> forgotten;
  for (uint16_t port = 1; port <= 20; ++port) {
    IceResult r = send("srv1:cli1", kOldPwd, false, SocketAddress::ipv4(0x0a000001, port));
    ASSERT_TRUE(r.authenticated);
    if (r.forgotten) forgotten.push_back(*r.forgotten);
  }
  // 21 addresses seen, 8 kept: 13 forgotten, oldest first, never the selected one.
  ASSERT_EQ(forgotten.size(), 13u);
  EXPECT_EQ(forgotten[0], SocketAddress::ipv4(0x0a000001, 1));
  for (const auto& f : forgotten) EXPECT_NE(f, a);
  EXPECT_TRUE(agent.validated(a));
  EXPECT_TRUE(agent.validated(SocketAddress::ipv4(0x0a000001, 20)));
  EXPECT_FALSE(agent.validated(SocketAddress::ipv4(0x0a000001, 1)));
}

}  // namespace
}  // namespace lss
