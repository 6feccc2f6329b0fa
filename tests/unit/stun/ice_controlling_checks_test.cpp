// The controlling checks a pulling node sends toward another node's ICE-lite
// side, against the real IceLiteAgent: connection and nomination, lost
// checks, a candidate that never answers, wrong credentials, consent.
#include "stun/ice_controlling_checks.hpp"

#include <gtest/gtest.h>

#include "stun/ice_lite_agent.hpp"

namespace lss {
namespace {

using namespace std::chrono_literals;

const SocketAddress kUs = SocketAddress::ipv4(0x0a000001, 50000);       // 10.0.0.1
const SocketAddress kPeer = SocketAddress::ipv4(0x0a000002, 40000);     // 10.0.0.2
const SocketAddress kDeadEnd = SocketAddress::ipv4(0x0a000003, 40000);  // answers nothing

struct Link {
  Timestamp now{};
  IceLiteAgent peer{"liteufrag", "litepasswordlitepassword", "pullufrag", now};
  IceControllingChecks checks{{"pullufrag", "pullpasswordpullpassword"},
                              {"liteufrag", "litepasswordlitepassword"},
                              {kDeadEnd, kPeer},
                              now};
  std::function<bool(const Bytes&)> drop;  // a check lost on the way
  int sent = 0;

  // Runs the link for `d` in 10 ms steps.
  void run(Duration d) {
    for (const Timestamp end = now + d; now < end; now += 10ms) {
      for (auto& [bytes, to] : checks.due(now)) {
        ++sent;
        if (to != kPeer || (drop && drop(bytes))) continue;
        auto r = peer.handle_stun(bytes, kUs, now);
        if (!r.response.empty()) checks.handle_response(r.response, kPeer, now);
      }
    }
  }
};

TEST(IceControllingChecks, NominatesTheFirstPairThatWorks) {
  Link link;
  link.run(300ms);
  ASSERT_TRUE(link.checks.selected().has_value());
  EXPECT_EQ(*link.checks.selected(), kPeer);
  // The lite side saw the nomination and uses the same path.
  EXPECT_TRUE(link.peer.nominated());
  EXPECT_EQ(link.peer.selected_address(), kUs);
  EXPECT_FALSE(link.checks.failed(link.now));
}

TEST(IceControllingChecks, LostChecksAreSentAgain) {
  Link link;
  int dropped = 0;
  link.drop = [&](const Bytes&) { return dropped++ < 3; };
  link.run(1s);
  EXPECT_EQ(link.checks.selected(), kPeer);
  EXPECT_EQ(dropped, 5);  // three lost, then the check and the nomination went through
}

TEST(IceControllingChecks, ConsentKeepsTheLiteSideAliveAndItsLossFails) {
  Link link;
  link.run(300ms);
  ASSERT_TRUE(link.checks.selected());
  // Consent checks every 4-6 s keep the lite side's consent fresh.
  link.run(60s);
  EXPECT_FALSE(link.peer.consent_expired(link.now, 10s));
  EXPECT_FALSE(link.checks.failed(link.now));
  // The peer goes silent. Its last answer came at most one interval (6 s)
  // before, so the link still stands 23 s on and has failed 31 s on.
  link.drop = [](const Bytes&) { return true; };
  link.run(23s);
  EXPECT_FALSE(link.checks.failed(link.now));
  link.run(8s);
  EXPECT_TRUE(link.checks.failed(link.now));
}

TEST(IceControllingChecks, ALinkBetweenNodesChecksFasterAndFailsInSeconds) {
  Link link;
  link.checks = IceControllingChecks{{"pullufrag", "pullpasswordpullpassword"},
                                     {"liteufrag", "litepasswordlitepassword"},
                                     {kPeer},
                                     link.now,
                                     {std::chrono::seconds(1), std::chrono::seconds(5)}};
  link.run(300ms);
  ASSERT_TRUE(link.checks.selected());
  const int before = link.sent;
  link.run(10s);
  // One check every 0.8-1.2 s.
  EXPECT_GE(link.sent - before, 8);
  EXPECT_LE(link.sent - before, 13);
  EXPECT_FALSE(link.checks.failed(link.now));
  link.drop = [](const Bytes&) { return true; };
  link.run(3700ms);  // its last answer was at most 1.2 s before
  EXPECT_FALSE(link.checks.failed(link.now));
  link.run(1300ms);
  EXPECT_TRUE(link.checks.failed(link.now));
}

TEST(IceControllingChecks, WrongCredentialsNeverConnect) {
  Timestamp now{};
  IceLiteAgent peer{"liteufrag", "litepasswordlitepassword", "pullufrag", now};
  IceControllingChecks checks{{"pullufrag", "pullpasswordpullpassword"},
                              {"liteufrag", "not-the-password-at-all!"},
                              {kPeer},
                              now};
  for (; now < Timestamp{} + 11s; now += 10ms) {
    for (auto& [bytes, to] : checks.due(now)) {
      auto r = peer.handle_stun(bytes, kUs, now);
      EXPECT_FALSE(r.authenticated);
      if (!r.response.empty()) EXPECT_FALSE(checks.handle_response(r.response, kPeer, now));
    }
  }
  EXPECT_FALSE(checks.selected());
  EXPECT_TRUE(checks.failed(now));
}

TEST(IceControllingChecks, AnswersFromElsewhereOrForgedAreNotTaken) {
  Link link;
  auto sent = link.checks.due(link.now);
  ASSERT_FALSE(sent.empty());
  auto r = link.peer.handle_stun(sent[0].first, kUs, link.now);
  // The same answer from another address: not the pair's.
  const SocketAddress elsewhere = sent[0].second == kPeer ? kDeadEnd : kPeer;
  EXPECT_FALSE(link.checks.handle_response(r.response, elsewhere, link.now));
  Bytes garbage(r.response);
  garbage[garbage.size() - 30] ^= 1;  // inside the HMAC
  EXPECT_FALSE(link.checks.handle_response(garbage, sent[0].second, link.now));
  EXPECT_FALSE(link.checks.selected());
  // The genuine answer is taken.
  EXPECT_TRUE(link.checks.handle_response(r.response, sent[0].second, link.now));
}

TEST(IceControllingChecks, NoCandidatesFailsAtOnce) {
  IceControllingChecks checks{{"a", "b"}, {"c", "d"}, {}, Timestamp{}};
  EXPECT_TRUE(checks.failed(Timestamp{}));
  EXPECT_TRUE(checks.due(Timestamp{}).empty());
}

}  // namespace
}  // namespace lss
