// SDP fragments (RFC 8840) as WHIP/WHEP clients PATCH them.
#include "sdp/sdp_fragment.hpp"

#include <gtest/gtest.h>

namespace lss::sdp {
namespace {

// RFC 9725 §4.3.1's trickle example (as Chrome writes candidates).
constexpr const char* kTrickle =
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
    "m=audio 9 RTP/AVP 0\r\n"
    "a=mid:0\r\n"
    "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw "
    "network-id 1\r\n"
    "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag "
    "EsAw network-id 2\r\n"
    "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active generation 0 "
    "ufrag EsAw network-id 1\r\n"
    "a=end-of-candidates\r\n";

TEST(SdpFragment, ParsesATrickleFragment) {
  auto f = parse_sdp_fragment(kTrickle);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->ufrag(), "EsAw");
  EXPECT_EQ(f->pwd(), "P2uYro0UCOQ4zxjKXaWCBui1");
  ASSERT_EQ(f->media.size(), 1u);
  const auto& m = f->media[0];
  EXPECT_EQ(m.media, "audio");
  EXPECT_EQ(m.port, "9");
  EXPECT_EQ(m.proto, "RTP/AVP");
  EXPECT_EQ(m.formats, std::vector<std::string>{"0"});
  EXPECT_EQ(m.mid, "0");
  EXPECT_EQ(m.candidates.size(), 3u);
  EXPECT_TRUE(m.end_of_candidates);
  auto cands = f->parsed_candidates();
  ASSERT_EQ(cands.size(), 3u);
  EXPECT_EQ(cands[0].foundation, "1387637174");
  EXPECT_EQ(cands[0].component, 1u);
  EXPECT_EQ(cands[0].transport, "udp");
  EXPECT_EQ(cands[0].priority, 2122260223u);
  EXPECT_EQ(cands[0].address, "192.0.2.1");
  EXPECT_EQ(cands[0].port, 61764);
  EXPECT_EQ(cands[0].type, "host");
  EXPECT_EQ(cands[2].transport, "tcp");
}

TEST(SdpFragment, LfOnlyBlankLinesAndMediaLevelCredentials) {
  auto f = parse_sdp_fragment(
      "\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\na=mid:v\na=ice-ufrag:abcd\n\na=ice-pwd:"
      "0123456789abcdefghij+/\n");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_FALSE(f->ice_ufrag);
  EXPECT_EQ(f->ufrag(), "abcd");
  EXPECT_EQ(f->pwd(), "0123456789abcdefghij+/");
  EXPECT_EQ(f->media[0].formats.size(), 2u);
  EXPECT_TRUE(f->media[0].candidates.empty());
  EXPECT_FALSE(f->media[0].end_of_candidates);
}

TEST(SdpFragment, CredentialsOnlyAndEmptyFragments) {
  auto f = parse_sdp_fragment("a=ice-ufrag:wxyz\r\na=ice-pwd:0123456789012345678901\r\n");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->media.empty());
  EXPECT_EQ(f->ufrag(), "wxyz");
  auto empty = parse_sdp_fragment("");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->ufrag());
  EXPECT_FALSE(empty->pwd());
  auto eoc = parse_sdp_fragment("a=end-of-candidates\r\n");
  ASSERT_TRUE(eoc.ok());
  EXPECT_TRUE(eoc->end_of_candidates);
}

TEST(SdpFragment, MalformedFragmentsNameTheLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"hello\r\n", "line 1: expected '<letter>=<value>'"},
      {"a=ice-ufrag:abcd\r\nx\r\n", "line 2: expected"},
      {"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "line 1: a whole SDP"},
      {"m=audio\r\n", "line 1: m-line needs"},
      {"m=audio x RTP/AVP 0\r\n", "line 1: m-line has a bad port"},
      {"a=ice-ufrag:abc\r\n", "line 1: malformed a=ice-ufrag"},  // too short
      {"a=ice-ufrag:ab-cd\r\n", "line 1: malformed a=ice-ufrag"},
      {"a=ice-pwd:short\r\n", "line 1: malformed a=ice-pwd"},
      {"a=ice-ufrag:abcd\r\nm=audio 9 RTP/AVP 0\r\na=ice-ufrag:efgh\r\n",
       "line 3: conflicting a=ice-ufrag"},
      {"a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n", "line 1: a=candidate before any m="},
      {"a=mid:0\r\n", "line 1: a=mid before any m="},
      {"a=\r\n", "line 1: empty attribute name"},
  };
  for (const auto& c : cases) {
    auto f = parse_sdp_fragment(c.text);
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_NE(f.error().message.find(c.error), std::string::npos)
        << c.text << " -> " << f.error().message;
  }
  std::string nul = "a=ice-ufrag:abcd";
  nul += '\0';
  EXPECT_FALSE(parse_sdp_fragment(nul).ok());
}

TEST(SdpFragment, BoundedInSizeLinesAndSections) {
  EXPECT_FALSE(parse_sdp_fragment(std::string(kMaxFragmentBytes + 1, '\n')).ok());
  std::string many;
  for (size_t i = 0; i < kMaxFragmentLines + 1; ++i) many += "a=x\r\n";
  EXPECT_FALSE(parse_sdp_fragment(many).ok());
  std::string sections;
  for (size_t i = 0; i < kMaxFragmentSections + 1; ++i) sections += "m=audio 9 RTP/AVP 0\r\n";
  auto f = parse_sdp_fragment(sections);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("too many media sections"), std::string::npos);
}

TEST(SdpFragment, UnusableCandidatesAreKeptButNotParsed) {
  auto f = parse_sdp_fragment(
      "m=audio 9 RTP/AVP 0\r\na=mid:0\r\n"
      "a=candidate:1 1 udp 2122260223 3f1c1f8e-61e4-4b1a.local 5000 typ host\r\n"  // mDNS
      "a=candidate:garbage\r\n"
      "a=candidate:2 1 udp 99999999999 192.0.2.1 5000 typ host\r\n"  // priority > 2^32
      "a=candidate:3 1 udp 1 192.0.2.1 70000 typ host\r\n"           // port
      "a=candidate:4 0 udp 1 192.0.2.1 7 typ host\r\n"               // component
      "a=candidate:5 1 udp 1 192.0.2.1 7 type host\r\n");            // no "typ"
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->media[0].candidates.size(), 6u);
  auto parsed = f->parsed_candidates();
  ASSERT_EQ(parsed.size(), 1u);  // an mDNS name is a valid candidate, unusable or not
  EXPECT_EQ(parsed[0].address, "3f1c1f8e-61e4-4b1a.local");
}

TEST(SdpFragment, WritesWhatItReadsBack) {
  SdpFragment f;
  f.ice_lite = true;
  f.ice_options = {"ice2", "trickle"};
  f.ice_ufrag = "Abc+";
  f.ice_pwd = "0123456789abcdefghij+/";
  FragmentSection m;
  m.media = "video";
  m.port = "9";
  m.proto = "UDP/TLS/RTP/SAVPF";
  m.formats = {"96"};
  m.mid = "1";
  m.candidates = {"1 1 udp 2130706431 127.0.0.1 40000 typ host"};
  m.end_of_candidates = true;
  f.media.push_back(m);
  const std::string text = write_sdp_fragment(f);
  EXPECT_EQ(text,
            "a=ice-lite\r\na=ice-options:ice2 trickle\r\na=ice-ufrag:Abc+\r\n"
            "a=ice-pwd:0123456789abcdefghij+/\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
            "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\n");
  auto back = parse_sdp_fragment(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->ice_lite);
  EXPECT_EQ(back->ice_options, f.ice_options);
  EXPECT_EQ(back->ufrag(), f.ice_ufrag);
  EXPECT_EQ(back->pwd(), f.ice_pwd);
  ASSERT_EQ(back->media.size(), 1u);
  EXPECT_EQ(back->media[0].mid, "1");
  EXPECT_EQ(back->media[0].candidates, m.candidates);
  EXPECT_TRUE(back->media[0].end_of_candidates);
  // Round trip of a client's fragment too.
  auto client = parse_sdp_fragment(kTrickle);
  ASSERT_TRUE(client.ok());
  auto again = parse_sdp_fragment(write_sdp_fragment(*client));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->media[0].candidates, client->media[0].candidates);
  EXPECT_EQ(again->ufrag(), client->ufrag());
}

TEST(SdpFragment, IceCharRules) {
  EXPECT_TRUE(valid_ice_ufrag("abcd"));
  EXPECT_TRUE(valid_ice_ufrag("a+/9"));
  EXPECT_FALSE(valid_ice_ufrag("abc"));
  EXPECT_FALSE(valid_ice_ufrag(std::string(257, 'a')));
  EXPECT_TRUE(valid_ice_ufrag(std::string(256, 'a')));
  EXPECT_FALSE(valid_ice_ufrag("ab:cd"));
  EXPECT_TRUE(valid_ice_pwd(std::string(22, 'x')));
  EXPECT_FALSE(valid_ice_pwd(std::string(21, 'x')));
}

}  // namespace
}  // namespace lss::sdp
