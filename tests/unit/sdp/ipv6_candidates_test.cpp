// IPv6 host candidates: RFC 8839 §5.1 connection-address is the bare
// address (no brackets), for UDP and passive ICE-TCP alike, in the order
// given (IPv4 first by default), with falling priorities.
#include <gtest/gtest.h>

#include <sstream>

#include "../support/sdp_fixture.hpp"
#include "sdp/negotiation.hpp"
#include "sdp/sdp_writer.hpp"
#include "sdp/session_description.hpp"

namespace lss::sdp {
namespace {

std::string load(const std::string& name) {
  return testing::load_sdp_fixture(name);
}

LocalTransport dual_stack() {
  LocalTransport l;
  l.ice_ufrag = "srvufrag";
  l.ice_pwd = "serverpassword0123456789";
  l.fingerprint_sha256 = "AB:CD";
  l.candidates = {
      {"203.0.113.10", 40000}, {"127.0.0.1", 40000}, {"2001:db8::10", 40000}, {"fd00::1", 40000}};
  l.tcp_candidates = {{"203.0.113.10", 40000}, {"fd00::1", 40000}};
  return l;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

TEST(Ipv6Candidates, WrittenBareWithFallingPriorities) {
  const std::string lines = transport_lines(dual_stack(), SetupLine::kPassive);
  EXPECT_NE(lines.find("a=candidate:3 1 udp 2130705663 2001:db8::10 40000 typ host\r\n"),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find("a=candidate:4 1 udp 2130705407 fd00::1 40000 typ host\r\n"),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find(" fd00::1 40000 typ host tcptype passive\r\n"), std::string::npos) << lines;
  EXPECT_EQ(lines.find('['), std::string::npos) << lines;
  EXPECT_EQ(lines.find(']'), std::string::npos) << lines;
}

TEST(Ipv6Candidates, BracketedAddressesLoseTheirBrackets) {
  LocalTransport l = dual_stack();
  l.candidates = {{"[2001:db8::10]", 40001}};
  l.tcp_candidates = {{"[2001:db8::10]", 40002}};
  const std::string lines = transport_lines(l, SetupLine::kPassive);
  EXPECT_NE(lines.find(" udp 2130706175 2001:db8::10 40001 typ host\r\n"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find(" tcp 2122317823 2001:db8::10 40002 typ host tcptype passive\r\n"),
            std::string::npos)
      << lines;
  EXPECT_EQ(lines.find('['), std::string::npos) << lines;
}

TEST(Ipv6Candidates, AnAnswerWithIpv6CandidatesParsesBack) {
  auto offer = parse_sdp(load("chrome_publish_offer.sdp")).value();
  auto r = answer_publish(offer, dual_stack());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  auto ans = parse_sdp(r->sdp);
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  for (const auto& m : ans->media) {
    const auto cands = m.attribute_values("candidate");
    ASSERT_EQ(cands.size(), 6u);
    std::vector<std::string> addresses;
    uint64_t last_udp_priority = UINT64_MAX;
    for (const auto& c : cands) {
      const auto f = split(c);
      ASSERT_GE(f.size(), 8u) << c;
      addresses.push_back(f[4]);
      EXPECT_EQ(f[5], "40000");
      EXPECT_EQ(f[6], "typ");
      EXPECT_EQ(f[7], "host");
      if (f[2] == "udp") {
        const uint64_t p = std::stoull(f[3]);
        EXPECT_LT(p, last_udp_priority) << c;
        last_udp_priority = p;
      }
    }
    EXPECT_EQ(addresses, (std::vector<std::string>{"203.0.113.10", "127.0.0.1", "2001:db8::10",
                                                   "fd00::1", "203.0.113.10", "fd00::1"}));
  }
}

}  // namespace
}  // namespace lss::sdp
