// Offer shapes beyond the browsers' defaults (bundle-only sections, no
// BUNDLE, trickle without candidates, rtcp-mux-only, extmap-allow-mixed,
// several ssrc-groups, both msid forms), and every answer checked against
// RFC 8829's answer rules and what strict parsers (GStreamer's webrtcbin)
// demand of each section.
#include "sdp/bundle.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

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
  l.candidates = {{"127.0.0.1", 40000}};
  return l;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// Drops every line of the section with `mid` that starts with one of `prefixes`.
std::string strip_in_section(const std::string& sdp, const std::string& mid,
                             const std::vector<std::string>& prefixes) {
  std::istringstream in(sdp);
  std::vector<std::string> section, out;
  auto flush = [&] {
    const bool target = std::find(section.begin(), section.end(), "a=mid:" + mid) != section.end();
    for (const auto& l : section) {
      bool drop = false;
      for (const auto& p : prefixes) drop |= target && l.rfind(p, 0) == 0;
      if (!drop) out.push_back(l);
    }
    section.clear();
  };
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("m=", 0) == 0) flush();
    section.push_back(line);
  }
  flush();
  std::string s;
  for (const auto& l : out) s += l + "\r\n";
  return s;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// RFC 8829 §5.3.1 and RFC 8843 on an answer to `offer`, plus what
// webrtcbin's validate_sdp demands of every section (rejected ones too):
// a mid, ICE credentials (session or media level), a media-level a=setup,
// and a fingerprint at session or media level.
void expect_well_formed_answer(const SessionDescription& offer, const std::string& text) {
  auto parsed = parse_sdp(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << text;
  const SessionDescription& ans = *parsed;
  ASSERT_EQ(ans.media.size(), offer.media.size()) << "one answer section per offered section";
  EXPECT_TRUE(ans.attribute("ice-lite").has_value());
  EXPECT_TRUE(ans.attribute("fingerprint").has_value()) << "session-level fingerprint";
  EXPECT_TRUE(ans.attribute("setup").has_value()) << "session-level setup";
  EXPECT_TRUE(ans.attribute("ice-ufrag").has_value());
  EXPECT_TRUE(ans.attribute("ice-pwd").has_value());
  const auto offer_group = offer.bundle_group();
  const auto answer_group = ans.bundle_group();
  if (offer_group.empty()) {
    EXPECT_TRUE(answer_group.empty()) << "no group the offer lacks";
  }
  for (const auto& mid : answer_group) EXPECT_TRUE(contains(offer_group, mid)) << mid;
  for (size_t i = 0; i < ans.media.size(); ++i) {
    const MediaSection& a = ans.media[i];
    const MediaSection& o = offer.media[i];
    SCOPED_TRACE("section " + std::to_string(i) + " mid " + o.mid());
    EXPECT_EQ(a.media, o.media);
    EXPECT_EQ(a.proto, o.proto) << "proto echoes the offer";
    if (o.has_attribute("mid")) {
      EXPECT_EQ(a.mid(), o.mid());
    }
    EXPECT_FALSE(a.has_attribute("bundle-only")) << "never in an answer";
    EXPECT_TRUE(a.has_attribute("setup")) << "webrtcbin wants a=setup in every section";
    EXPECT_NE(a.attribute("setup"), "actpass");
    for (const auto& f : a.formats) {
      EXPECT_TRUE(contains(o.formats, f)) << "format " << f << " was not offered";
    }
    if (a.port == 0) {
      EXPECT_FALSE(contains(answer_group, a.mid())) << "rejected sections leave the group";
      continue;
    }
    EXPECT_EQ(a.port, 9);
    EXPECT_EQ(a.attribute("fingerprint"), ans.attribute("fingerprint"));
    EXPECT_EQ(a.attribute("ice-ufrag"), ans.attribute("ice-ufrag"));
    EXPECT_FALSE(a.attribute_values("candidate").empty());
    if (!offer_group.empty()) {
      EXPECT_TRUE(contains(answer_group, a.mid()));
    }
    if (a.media != "application") {
      EXPECT_TRUE(a.has_attribute("rtcp-mux"));
      EXPECT_EQ(a.has_attribute("rtcp-rsize"), o.has_attribute("rtcp-rsize"));
      for (const auto& e : a.extmaps()) {
        bool offered = false;
        for (const auto& oe : o.extmaps()) offered |= oe.id == e.id && oe.uri == e.uri;
        EXPECT_TRUE(offered) << e.uri;
      }
    }
  }
}

TEST(Bundle, UsableSections) {
  auto offer = parse_sdp(load("gstreamer_trickle_offer.sdp")).value();
  OfferBundle b(offer);
  ASSERT_TRUE(b.has_group());
  ASSERT_NE(b.tag(), nullptr);
  EXPECT_EQ(b.tag()->mid(), "video0");
  EXPECT_TRUE(b.usable(offer.media[0]));
  EXPECT_EQ(offer.media[1].port, 0);
  EXPECT_TRUE(b.usable(offer.media[1])) << "port 0 + bundle-only in the group";
  EXPECT_EQ(b.answer_group({&offer.media[1], &offer.media[0]}),
            (std::vector<std::string>{"video0", "audio1"}));
}

TEST(Bundle, GStreamerMaxBundlePublishGetsBothTracks) {
  auto offer = parse_sdp(load("gstreamer_trickle_offer.sdp")).value();
  ASSERT_TRUE(offer.media[0].attribute_values("candidate").empty()) << "trickle, none yet";
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->tracks.size(), 2u);
  EXPECT_EQ(r->tracks[0].mid, "video0");
  EXPECT_EQ(r->tracks[0].codec.name, "VP8");
  EXPECT_EQ(r->tracks[1].mid, "audio1");
  EXPECT_EQ(r->tracks[1].codec.name, "opus");
  EXPECT_EQ(r->tracks[0].ssrcs, std::vector<uint32_t>{2736518741});  // msid in a=ssrc (old form)
  EXPECT_EQ(r->tracks[1].ssrcs, std::vector<uint32_t>{2463853919});
  EXPECT_EQ(r->remote.ice_ufrag, "52Gs2cOXV+Cbxi46kAW6PHCyJ81eA5am");
  EXPECT_EQ(r->remote.our_role, DtlsRole::kServer);
  expect_well_formed_answer(offer, r->sdp);
  auto ans = parse_sdp(r->sdp).value();
  EXPECT_EQ(ans.bundle_group(), (std::vector<std::string>{"video0", "audio1"}));
  EXPECT_EQ(ans.media[1].port, 9);
  EXPECT_EQ(ans.media[1].direction(), "recvonly");
  EXPECT_EQ(ans.attribute("setup"), "passive");
}

TEST(Bundle, GStreamerMaxBundleViewerGetsBothTracks) {
  auto pub = answer_publish(parse_sdp(load("chrome_publish_offer.sdp")).value(), local()).value();
  auto offer =
      parse_sdp(replace_all(load("gstreamer_trickle_offer.sdp"), "a=sendrecv", "a=recvonly"))
          .value();
  auto r = answer_subscribe(offer, local(), pub.tracks, {"cam1", "lss", 1111, 2222});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->tracks.size(), 2u);
  expect_well_formed_answer(offer, r->sdp);
  auto ans = parse_sdp(r->sdp).value();
  EXPECT_EQ(ans.media[1].direction(), "sendonly");
  EXPECT_EQ(ans.media[1].ssrcs()[0].ssrc, 1111u);
  EXPECT_EQ(ans.bundle_group(), (std::vector<std::string>{"video0", "audio1"}));
}

TEST(Bundle, GStreamerOffersAsSentPublishAndView) {
  for (const char* name : {"gstreamer_publish_vp8_offer.sdp", "gstreamer_publish_h264_offer.sdp"}) {
    SCOPED_TRACE(name);
    auto offer = parse_sdp(load(name)).value();
    auto r = answer_publish(offer, local());
    ASSERT_TRUE(r.ok()) << r.error().reason;
    ASSERT_EQ(r->tracks.size(), 2u);
    expect_well_formed_answer(offer, r->sdp);
    // The H264 publisher (constrained baseline 42c00d) can be watched by the
    // same script's viewer, which offers 42e01f.
    auto view = parse_sdp(load("gstreamer_view_offer.sdp")).value();
    auto v = answer_subscribe(view, local(), r->tracks, {"cam1", "lss", 1, 2, 3});
    ASSERT_TRUE(v.ok()) << v.error().reason;
    EXPECT_EQ(v->tracks.size(), 2u);
    expect_well_formed_answer(view, v->sdp);
  }
}

TEST(Bundle, BundleOnlySectionTakesTheTaggedSectionsTransport) {
  // RFC 8843 lets a bundle-only section leave its transport attributes to
  // the tagged section.
  const std::string text =
      strip_in_section(load("gstreamer_trickle_offer.sdp"), "audio1",
                       {"a=ice-ufrag", "a=ice-pwd", "a=fingerprint", "a=setup", "a=rtcp-mux"});
  auto offer = parse_sdp(text).value();
  ASSERT_FALSE(offer.media[1].has_attribute("fingerprint"));
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r->tracks.size(), 2u);
  EXPECT_EQ(r->remote.ice_ufrag, "52Gs2cOXV+Cbxi46kAW6PHCyJ81eA5am");
  expect_well_formed_answer(offer, r->sdp);
}

TEST(Bundle, PortZeroWithoutBundleOnlyIsRejectedInPlace) {
  auto offer =
      parse_sdp(strip_in_section(load("gstreamer_trickle_offer.sdp"), "audio1", {"a=bundle-only"}))
          .value();
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->tracks.size(), 1u);
  EXPECT_EQ(r->tracks[0].codec.name, "VP8");
  expect_well_formed_answer(offer, r->sdp);
  auto ans = parse_sdp(r->sdp).value();
  EXPECT_EQ(ans.media[1].port, 0);
  EXPECT_EQ(ans.media[1].mid(), "audio1");
  EXPECT_EQ(ans.bundle_group(), std::vector<std::string>{"video0"});
}

TEST(Bundle, BundleOnlyOutsideAnyGroupIsRejected) {
  auto offer = parse_sdp(replace_all(load("gstreamer_trickle_offer.sdp"),
                                     "a=group:BUNDLE video0 audio1", "a=group:BUNDLE video0"))
                   .value();
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->tracks.size(), 1u);
  expect_well_formed_answer(offer, r->sdp);
  EXPECT_EQ(parse_sdp(r->sdp)->media[1].port, 0);
}

TEST(Bundle, OfferWithoutBundleIsRefusedWithTheReason) {
  // webrtcbin's default bundle-policy (none): one transport per section.
  auto offer = parse_sdp(load("gstreamer_no_bundle_offer.sdp")).value();
  ASSERT_TRUE(offer.bundle_group().empty());
  auto r = answer_publish(offer, local());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_NE(r.error().reason.find("BUNDLE is required"), std::string::npos) << r.error().reason;
  auto pub = answer_publish(parse_sdp(load("chrome_publish_offer.sdp")).value(), local()).value();
  auto view =
      parse_sdp(replace_all(load("gstreamer_no_bundle_offer.sdp"), "a=sendrecv", "a=recvonly"))
          .value();
  auto v = answer_subscribe(view, local(), pub.tracks, {"cam1", "lss", 1, 2});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().status, 400);
  EXPECT_NE(v.error().reason.find("BUNDLE is required"), std::string::npos);
}

TEST(Bundle, SingleSectionWithoutBundleIsServedWithoutAGroup) {
  // One section needs no BUNDLE; the answer then has no group either.
  const std::string text = load("gstreamer_no_bundle_offer.sdp");
  auto offer = parse_sdp(text.substr(0, text.find("m=audio"))).value();
  ASSERT_EQ(offer.media.size(), 1u);
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r->tracks.size(), 1u);
  expect_well_formed_answer(offer, r->sdp);
  EXPECT_TRUE(parse_sdp(r->sdp)->bundle_group().empty());
}

TEST(Bundle, SectionOutsideTheGroupNextToBundledOnesIsRefused) {
  auto offer = parse_sdp(replace_all(load("chrome_publish_offer.sdp"), "a=group:BUNDLE 0 1",
                                     "a=group:BUNDLE 1"))
                   .value();
  auto r = answer_publish(offer, local());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_NE(r.error().reason.find("section '0'"), std::string::npos) << r.error().reason;
}

TEST(Bundle, AnswerGroupFollowsTheOffersTagOrder) {
  auto offer = parse_sdp(replace_all(load("chrome_publish_offer.sdp"), "a=group:BUNDLE 0 1",
                                     "a=group:BUNDLE 1 0"))
                   .value();
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(parse_sdp(r->sdp)->bundle_group(), (std::vector<std::string>{"1", "0"}));
  expect_well_formed_answer(offer, r->sdp);
}

TEST(Bundle, RtcpMuxOnlyAloneIsEnough) {
  auto offer = parse_sdp(load("gstreamer_trickle_offer.sdp")).value();
  for (auto& m : offer.media) {
    std::erase_if(m.attributes, [](const Attribute& a) { return a.name == "rtcp-mux"; });
  }
  ASSERT_TRUE(offer.media[0].has_attribute("rtcp-mux-only"));
  auto r = answer_publish(parse_sdp(offer.to_string()).value(), local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r->tracks.size(), 2u);
  expect_well_formed_answer(offer, r->sdp);
}

TEST(Bundle, ExtmapAllowMixedIsEchoed) {
  auto offer = parse_sdp(load("chrome_publish_offer.sdp")).value();
  ASSERT_TRUE(offer.attribute("extmap-allow-mixed").has_value());
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_TRUE(parse_sdp(r->sdp)->attribute("extmap-allow-mixed").has_value());
  auto plain = parse_sdp(load("gstreamer_trickle_offer.sdp")).value();
  auto p = answer_publish(plain, local());
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(parse_sdp(p->sdp)->attribute("extmap-allow-mixed").has_value());
}

TEST(Bundle, SeveralSsrcGroupsTakeTheFirstFidPair) {
  // Legacy simulcast: a SIM group and one FID group per layer.
  std::string text = load("gstreamer_trickle_offer.sdp");
  text = replace_all(text, "a=ssrc:2736518741 cname:user3516696502@host-3c09db0d\r\n",
                     "a=ssrc:2736518741 cname:c\r\na=ssrc:11 cname:c\r\na=ssrc:12 cname:c\r\n"
                     "a=ssrc:21 cname:c\r\na=ssrc:22 cname:c\r\na=ssrc:31 cname:c\r\n"
                     "a=ssrc-group:SIM 2736518741 12 22\r\n"
                     "a=ssrc-group:FID 2736518741 11\r\na=ssrc-group:FID 12 21\r\n"
                     "a=ssrc-group:FID 22 31\r\n");
  auto offer = parse_sdp(text).value();
  ASSERT_EQ(offer.media[0].ssrc_groups("FID").size(), 3u);
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r->tracks[0].ssrcs, std::vector<uint32_t>{2736518741});
  EXPECT_EQ(r->tracks[0].rtx_ssrc, 11u);
}

TEST(Bundle, MsidInTheNewFormWithoutSsrcLines) {
  // a=msid per section (RFC 8830) and no a=ssrc at all: accepted, the SSRCs
  // are learnt from the media.
  std::string text = strip_in_section(load("gstreamer_trickle_offer.sdp"), "video0", {"a=ssrc:"});
  text = strip_in_section(text, "audio1", {"a=ssrc:"});
  text = replace_all(text, "a=mid:video0\r\n", "a=mid:video0\r\na=msid:stream0 track0\r\n");
  text = replace_all(text, "a=mid:audio1\r\n", "a=mid:audio1\r\na=msid:stream0 track1\r\n");
  auto offer = parse_sdp(text).value();
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->tracks.size(), 2u);
  EXPECT_TRUE(r->tracks[0].ssrcs.empty());
  expect_well_formed_answer(offer, r->sdp);
}

TEST(Bundle, PlainRtpSectionsAreRejected) {
  auto offer = parse_sdp(replace_all(load("gstreamer_trickle_offer.sdp"),
                                     "m=audio 0 UDP/TLS/RTP/SAVPF", "m=audio 0 RTP/AVP"))
                   .value();
  auto r = answer_publish(offer, local());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r->tracks.size(), 1u);
  EXPECT_EQ(parse_sdp(r->sdp)->media[1].port, 0);
}

// Every fixture offer that is answered at all gets a well-formed answer.
class EveryAnswer : public ::testing::TestWithParam<const char*> {};

TEST_P(EveryAnswer, IsWellFormed) {
  auto offer = parse_sdp(load(GetParam())).value();
  auto pub = answer_publish(offer, local());
  if (pub.ok()) expect_well_formed_answer(offer, pub->sdp);
  auto published =
      answer_publish(parse_sdp(load("chrome_publish_offer.sdp")).value(), local()).value();
  auto view = parse_sdp(replace_all(replace_all(load(GetParam()), "a=sendrecv", "a=recvonly"),
                                    "a=sendonly", "a=recvonly"))
                  .value();
  auto sub = answer_subscribe(view, local(), published.tracks, {"cam1", "lss", 1, 2});
  if (sub.ok()) expect_well_formed_answer(view, sub->sdp);
  EXPECT_TRUE(pub.ok() || sub.ok()) << GetParam() << ": neither a publisher nor a viewer";
}

INSTANTIATE_TEST_SUITE_P(
    Sdp, EveryAnswer,
    ::testing::Values("chrome_publish_offer.sdp", "chrome_publish_h264_offer.sdp",
                      "chrome_view_offer.sdp", "chrome_datachannel_offer.sdp", "firefox_offer.sdp",
                      "obs_offer.sdp", "ffmpeg_whip_offer.sdp", "gstreamer_trickle_offer.sdp",
                      "gstreamer_publish_vp8_offer.sdp", "gstreamer_publish_h264_offer.sdp",
                      "gstreamer_view_offer.sdp"));

}  // namespace
}  // namespace lss::sdp
