#include <gtest/gtest.h>

#include "../support/sdp_fixture.hpp"
#include "sdp/negotiation.hpp"
#include "sdp/session_description.hpp"

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
  l.candidates = {{"192.0.2.10", 40000}, {"127.0.0.1", 40000}};
  return l;
}

const MediaSection* section(const SessionDescription& sd, std::string_view mid) {
  for (const auto& m : sd.media)
    if (m.mid() == mid) return &m;
  return nullptr;
}

class RealOffers : public ::testing::TestWithParam<const char*> {};

TEST_P(RealOffers, ParsePrintParseRoundTrip) {
  const std::string text = load(GetParam());
  ASSERT_FALSE(text.empty()) << GetParam();
  auto a = parse_sdp(text);
  ASSERT_TRUE(a.ok()) << a.error().message;
  const std::string printed = a->to_string();
  auto b = parse_sdp(printed);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(printed, b->to_string());
  ASSERT_EQ(a->media.size(), b->media.size());
  for (size_t i = 0; i < a->media.size(); ++i) {
    EXPECT_EQ(a->media[i].attributes.size(), b->media[i].attributes.size());
    EXPECT_EQ(a->media[i].formats, b->media[i].formats);
  }
  // Every line survives (modulo line endings).
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  size_t printed_lines = 0;
  for (char c : printed) printed_lines += c == '\n';
  EXPECT_EQ(lines, printed_lines);
}

INSTANTIATE_TEST_SUITE_P(
    Sdp, RealOffers,
    ::testing::Values("chrome_publish_offer.sdp", "chrome_publish_h264_offer.sdp",
                      "chrome_view_offer.sdp", "chrome_datachannel_offer.sdp", "firefox_offer.sdp",
                      "obs_offer.sdp", "ffmpeg_whip_offer.sdp", "gstreamer_trickle_offer.sdp",
                      "gstreamer_publish_vp8_offer.sdp", "gstreamer_view_offer.sdp"));

TEST(SdpParse, TypedReaders) {
  auto sd = parse_sdp(load("firefox_offer.sdp")).value();
  ASSERT_EQ(sd.media.size(), 2u);
  const auto& v = sd.media[1];
  EXPECT_EQ(v.mid(), "1");
  EXPECT_EQ(v.direction(), "sendrecv");
  EXPECT_EQ(v.rtpmap(120)->encoding, "VP8");
  EXPECT_EQ(v.rtpmap(120)->clock_rate, 90000u);
  EXPECT_EQ(parse_fmtp(v.fmtp(126))["packetization-mode"], "1");
  EXPECT_EQ(v.rtcp_fbs(120).size(), 5u);
  EXPECT_EQ(v.extmaps()[3].direction, "recvonly");
  EXPECT_EQ(v.ssrc_groups("FID")[0], (std::vector<uint32_t>{7463831, 2513307155}));
  EXPECT_EQ(sd.bundle_group(), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(sd.fingerprint(v)->algorithm, "sha-256");  // session level
  EXPECT_EQ(sd.transport_attribute(v, "ice-ufrag"), "6c0579ea");
}

TEST(SdpParse, ErrorsNameTheLine) {
  auto r = parse_sdp("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nbogus line\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("line 3"), std::string::npos) << r.error().message;
  r = parse_sdp("x=1\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("v=0"), std::string::npos);
  r = parse_sdp("v=0\r\nm=video\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("line 2"), std::string::npos);
  r = parse_sdp("v=0\r\nm=video 99999 UDP/TLS/RTP/SAVPF 96\r\n");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(parse_sdp("").ok());
  EXPECT_FALSE(parse_sdp(std::string(70 * 1024, 'a')).ok());
  EXPECT_FALSE(parse_sdp(std::string("v=0\r\na=x\0y\r\n", 12)).ok());
}

TEST(Negotiation, ChromePublishOfferGetsARecvonlyIceLiteAnswer) {
  auto offer = parse_sdp(load("chrome_publish_offer.sdp")).value();
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->tracks.size(), 2u);
  EXPECT_EQ(r->tracks[0].codec.name, "opus");
  EXPECT_EQ(r->tracks[1].codec.name, "VP8");  // Chrome's first video codec
  EXPECT_TRUE(r->tracks[1].codec.rtx_payload_type.has_value());
  EXPECT_FALSE(r->tracks[1].ssrcs.empty());
  EXPECT_TRUE(r->tracks[1].rtx_ssrc.has_value());
  EXPECT_EQ(r->remote.our_role, DtlsRole::kServer);
  EXPECT_EQ(r->remote.fingerprint_algorithm, "sha-256");

  auto ans = parse_sdp(r->sdp);
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  EXPECT_TRUE(ans->attribute("ice-lite").has_value());
  EXPECT_EQ(ans->bundle_group(), (std::vector<std::string>{"0", "1"}));
  ASSERT_EQ(ans->media.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& m = ans->media[i];
    EXPECT_EQ(m.mid(), offer.media[i].mid());
    EXPECT_EQ(m.direction(), "recvonly");
    EXPECT_EQ(m.attribute("setup"), "passive");
    EXPECT_EQ(m.attribute("ice-ufrag"), "srvufrag");
    EXPECT_TRUE(m.has_attribute("rtcp-mux"));
    ASSERT_EQ(m.attribute_values("candidate").size(), 2u);
    EXPECT_EQ(m.attribute_values("candidate")[0], "1 1 udp 2130706175 192.0.2.10 40000 typ host");
    // Extension ids are the offer's.
    for (const auto& e : m.extmaps()) {
      bool offered = false;
      for (const auto& o : offer.media[i].extmaps()) offered |= o.id == e.id && o.uri == e.uri;
      EXPECT_TRUE(offered) << e.uri;
    }
  }
  const auto& video = ans->media[1];
  EXPECT_EQ(video.rtpmaps().size(), 2u);  // VP8 + its RTX only
  EXPECT_EQ(video.formats[0], std::to_string(r->tracks[1].codec.payload_type));
}

TEST(Negotiation, H264OnlyPublisherKeepsItsProfile) {
  auto r = answer_publish(parse_sdp(load("chrome_publish_h264_offer.sdp")).value(), local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r->tracks[1].codec.name, "H264");
  EXPECT_EQ(parse_fmtp(r->tracks[1].codec.fmtp)["packetization-mode"], "1");
}

TEST(Negotiation, FfmpegPassiveOfferMakesUsTheDtlsClient) {
  auto r = answer_publish(parse_sdp(load("ffmpeg_whip_offer.sdp")).value(), local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r->remote.our_role, DtlsRole::kClient);
  auto ans = parse_sdp(r->sdp).value();
  EXPECT_EQ(ans.media[0].attribute("setup"), "active");
  EXPECT_EQ(r->tracks[1].codec.payload_type, 106);
  EXPECT_EQ(r->tracks[0].ssrcs, std::vector<uint32_t>{4029370542});
}

TEST(Negotiation, ObsAndFirefoxOffersAreAccepted) {
  auto obs = answer_publish(parse_sdp(load("obs_offer.sdp")).value(), local());
  ASSERT_TRUE(obs.ok()) << obs.error().reason;
  EXPECT_EQ(obs->tracks[1].codec.name, "H264");
  EXPECT_EQ(obs->tracks[0].codec.name, "opus");  // "OPUS" in the offer
  auto ff = answer_publish(parse_sdp(load("firefox_offer.sdp")).value(), local());
  ASSERT_TRUE(ff.ok()) << ff.error().reason;
  EXPECT_EQ(ff->tracks[1].codec.name, "VP8");
  EXPECT_EQ(ff->tracks[1].rtx_ssrc, 2513307155u);
}

TEST(Negotiation, DataChannelSectionIsRejectedInPlace) {
  auto offer = parse_sdp(load("chrome_datachannel_offer.sdp")).value();
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  auto ans = parse_sdp(r->sdp).value();
  ASSERT_EQ(ans.media.size(), offer.media.size());
  const auto& app = ans.media.back();
  EXPECT_EQ(app.media, "application");
  EXPECT_EQ(app.port, 0);
  EXPECT_EQ(app.mid(), offer.media.back().mid());
  const auto bundle = ans.bundle_group();
  EXPECT_EQ(std::find(bundle.begin(), bundle.end(), app.mid()), bundle.end());
}

TEST(Negotiation, PublishErrorsCarryAStatus) {
  auto view = parse_sdp(load("chrome_view_offer.sdp")).value();
  auto r = answer_publish(view, local());  // recvonly: nothing to publish
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  std::string no_fp = load("chrome_publish_offer.sdp");
  size_t at;
  while ((at = no_fp.find("a=fingerprint")) != std::string::npos)
    no_fp.replace(at, 13, "a=xfingerprint");
  r = answer_publish(parse_sdp(no_fp).value(), local());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_NE(r.error().reason.find("fingerprint"), std::string::npos);
  std::string pcmu =
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
      "a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n";
  r = answer_publish(parse_sdp(pcmu).value(), local());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 406);
}

TEST(Negotiation, ViewerGetsThePublishersCodecOnItsOwnPayloadType) {
  auto pub =
      answer_publish(parse_sdp(load("chrome_publish_h264_offer.sdp")).value(), local()).value();
  auto viewer = parse_sdp(load("firefox_offer.sdp")).value();
  SubscribeOptions opts{"cam1", "lss", 1111, 2222};
  auto r = answer_subscribe(viewer, local(), pub.tracks, opts);
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->tracks.size(), 2u);
  EXPECT_EQ(r->tracks[1].payload_type, 126);  // Firefox's packetization-mode=1 H264
  auto ans = parse_sdp(r->sdp).value();
  const auto* v = section(ans, "1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->direction(), "sendonly");
  EXPECT_EQ(v->formats, std::vector<std::string>{"126"});
  EXPECT_EQ(v->attribute("msid"), "cam1 video-cam1");
  EXPECT_EQ(v->ssrcs()[0].ssrc, 2222u);
  EXPECT_TRUE(ans.attribute("msid-semantic").has_value());
  // abs-send-time is mapped onto the viewer's id; sdes:mid is not forwarded.
  uint8_t pub_abs = 0, pub_mid = 0;
  for (const auto& e : pub.tracks[1].extensions) {
    if (e.uri.find("abs-send-time") != std::string::npos) pub_abs = e.id;
    if (e.uri.find("sdes:mid") != std::string::npos) pub_mid = e.id;
  }
  ASSERT_NE(pub_abs, 0);
  EXPECT_EQ(r->tracks[1].extension_map[pub_abs], 4);
  EXPECT_EQ(r->tracks[1].extension_map[pub_mid], 0);
}

TEST(Negotiation, ViewerThatOffersRtxGetsItsOwnRtxPayloadTypeAndSsrc) {
  auto pub = answer_publish(parse_sdp(load("chrome_publish_offer.sdp")).value(), local()).value();
  auto viewer = parse_sdp(load("chrome_view_offer.sdp")).value();
  SubscribeOptions opts{"cam1", "lss", 1111, 2222, 3333};
  auto r = answer_subscribe(viewer, local(), pub.tracks, opts);
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const SubscribedTrack* video = nullptr;
  for (const auto& t : r->tracks)
    if (t.kind == NegotiatedTrack::kVideo) video = &t;
  ASSERT_TRUE(video);
  ASSERT_TRUE(video->rtx_payload_type.has_value());
  EXPECT_EQ(video->rtx_ssrc, 3333u);
  auto ans = parse_sdp(r->sdp).value();
  const auto* v = section(ans, video->mid);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->formats.size(), 2u);
  EXPECT_EQ(parse_fmtp(v->fmtp(*video->rtx_payload_type))["apt"],
            std::to_string(video->payload_type));
  EXPECT_EQ(v->ssrc_groups("FID")[0], (std::vector<uint32_t>{2222, 3333}));
  // Without an RTX SSRC (or an RTX offer) there is none.
  auto plain = answer_subscribe(viewer, local(), pub.tracks, {"cam1", "lss", 1111, 2222});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->sdp.find("rtx/90000"), std::string::npos);
}

TEST(Negotiation, ViewerThatCannotDecodeGets406WithTheCodec) {
  auto pub =
      answer_publish(parse_sdp(load("chrome_publish_h264_offer.sdp")).value(), local()).value();
  std::string vp8_only =
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
      "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
      "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=rtpmap:96 VP8/90000\r\n";
  auto r =
      answer_subscribe(parse_sdp(vp8_only).value(), local(), pub.tracks, {"cam1", "lss", 1, 2});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 406);
  EXPECT_NE(r.error().reason.find("H264"), std::string::npos);
}

TEST(Negotiation, H264ProfileCompatibility) {
  EXPECT_TRUE(h264_compatible("packetization-mode=1;profile-level-id=42e01f",
                              "packetization-mode=1;profile-level-id=42001f"));
  EXPECT_TRUE(h264_compatible("packetization-mode=1;profile-level-id=42e01f",
                              "packetization-mode=1;profile-level-id=42e034"));
  EXPECT_FALSE(h264_compatible("packetization-mode=1;profile-level-id=640c1f",
                               "packetization-mode=1;profile-level-id=42e01f"));
  EXPECT_FALSE(h264_compatible("packetization-mode=1;profile-level-id=42e01f",
                               "packetization-mode=0;profile-level-id=42e01f"));
  EXPECT_FALSE(h264_compatible("packetization-mode=1;profile-level-id=zzzzzz",
                               "packetization-mode=1;profile-level-id=42e01f"));
}

}  // namespace
}  // namespace lss::sdp
