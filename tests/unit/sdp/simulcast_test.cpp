// Simulcast offers (RFC 8853 / 8851): which layers are taken, and the answer.
#include "sdp/simulcast.hpp"

#include <gtest/gtest.h>

#include "../support/sdp_fixture.hpp"
#include "sdp/negotiation.hpp"

namespace lss::sdp {
namespace {

std::string load(const std::string& name) {
  return testing::load_sdp_fixture(name);
}

LocalTransport local() {
  LocalTransport l;
  l.ice_ufrag = "srvufrag";
  l.ice_pwd = "serverpassword0123456789";
  l.fingerprint_sha256 = "AB:CD";
  l.candidates = {{"127.0.0.1", 40000}};
  return l;
}

MediaSection section_with(std::vector<std::string> attrs) {
  std::string text =
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
  for (const auto& a : attrs) text += "a=" + a + "\r\n";
  return parse_sdp(text).value().media[0];
}

TEST(Simulcast, ChromeThreeLayerOfferIsAnsweredWithRecvRids) {
  auto offer = parse_sdp(load("chrome_simulcast_offer.sdp")).value();
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->tracks.size(), 2u);
  const auto& video = r->tracks[1];
  EXPECT_EQ(video.rids, (std::vector<std::string>{"q", "h", "f"}));
  EXPECT_TRUE(video.ssrcs.empty());  // learnt from the rid extension
  EXPECT_TRUE(r->tracks[0].rids.empty());
  auto ans = parse_sdp(r->sdp).value();
  const auto& v = ans.media[1];
  EXPECT_EQ(v.attribute("simulcast"), "recv q;h;f");
  EXPECT_EQ(v.attribute_values("rid"), (std::vector<std::string>{"q recv", "h recv", "f recv"}));
  // The extensions that tell layers and their repairs apart are kept.
  int kept = 0;
  for (const auto& e : v.extmaps()) {
    kept += e.uri == "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id" ||
            e.uri == "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id" ||
            e.uri == "urn:ietf:params:rtp-hdrext:sdes:mid";
  }
  EXPECT_EQ(kept, 3);
}

TEST(Simulcast, OfferedSendRids) {
  EXPECT_EQ(offered_send_rids(section_with({"rid:a send", "rid:b send", "simulcast:send a;b"})),
            (std::vector<std::string>{"a", "b"}));
  // Paused streams and alternatives: the first alternative, unpaused.
  EXPECT_EQ(offered_send_rids(
                section_with({"rid:a send", "rid:b send", "rid:c send", "simulcast:send ~a;b,c"})),
            (std::vector<std::string>{"a", "b"}));
  // More than three: the first three.
  EXPECT_EQ(offered_send_rids(section_with({"rid:1 send", "rid:2 send", "rid:3 send", "rid:4 send",
                                            "simulcast:send 1;2;3;4"})),
            (std::vector<std::string>{"1", "2", "3"}));
  // A rid without its a=rid line, a recv rid, one stream, a repeat, junk: none.
  EXPECT_TRUE(offered_send_rids(section_with({"rid:a send", "simulcast:send a;b"})).empty());
  EXPECT_TRUE(
      offered_send_rids(section_with({"rid:a send", "rid:b recv", "simulcast:send a;b"})).empty());
  EXPECT_TRUE(offered_send_rids(section_with({"rid:a send", "simulcast:send a"})).empty());
  EXPECT_TRUE(offered_send_rids(section_with({"rid:a send", "simulcast:send a;a"})).empty());
  EXPECT_TRUE(offered_send_rids(section_with({"rid:a/b send", "simulcast:send a/b;x"})).empty());
  EXPECT_TRUE(offered_send_rids(section_with({"simulcast:send"})).empty());
  EXPECT_TRUE(offered_send_rids(section_with({"rid:a send", "rid:b send"})).empty());
  EXPECT_EQ(simulcast_recv_lines({"a", "b"}),
            "a=rid:a recv\r\na=rid:b recv\r\na=simulcast:recv a;b\r\n");
}

TEST(Simulcast, WithoutTheRidExtensionThereIsNoSimulcast) {
  std::string text = load("chrome_simulcast_offer.sdp");
  const std::string ext = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
  text.replace(text.find(ext), ext.size(), "urn:example:not-the-rid");
  auto r = answer_publish(parse_sdp(text).value(), local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_TRUE(r->tracks[1].rids.empty());
  EXPECT_EQ(r->sdp.find("a=simulcast"), std::string::npos);
}

}  // namespace
}  // namespace lss::sdp
