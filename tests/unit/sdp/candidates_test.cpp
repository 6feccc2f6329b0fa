// The candidates a full ICE agent checks, read from a peer's description.
#include "sdp/candidates.hpp"

#include <gtest/gtest.h>

namespace lss::sdp {
namespace {

SessionDescription parse(const std::string& media_lines) {
  return parse_sdp(
             "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
             "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
             media_lines)
      .value();
}

TEST(UdpCandidates, HostUdpCandidatesInOrderEachOnce) {
  auto sd = parse(
      "a=candidate:1 1 udp 2130706431 192.0.2.7 40000 typ host\r\n"
      "a=candidate:2 1 UDP 2130706175 2001:db8::7 40000 typ host\r\n"
      "a=candidate:3 1 tcp 1671430143 192.0.2.7 40000 typ host tcptype passive\r\n"
      "a=candidate:4 2 udp 2130706430 192.0.2.7 40001 typ host\r\n"
      "a=candidate:5 1 udp 2130706431 abcd-1234.local 40000 typ host\r\n"
      "a=candidate:1 1 udp 2130706431 192.0.2.7 40000 typ host\r\n"
      "a=candidate:6 1 udp 1 198.51.100.1 0 typ host\r\n"
      "a=candidate:7 1 udp\r\n");
  auto c = udp_candidates(sd);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].to_string(), "192.0.2.7:40000");
  EXPECT_EQ(c[1].to_string(), "[2001:db8::7]:40000");
}

TEST(UdpCandidates, NoneIsEmpty) {
  EXPECT_TRUE(udp_candidates(parse("a=sendonly\r\n")).empty());
}

}  // namespace
}  // namespace lss::sdp
