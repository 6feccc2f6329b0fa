#include "sdp/pull_offer.hpp"

#include <gtest/gtest.h>

#include "sdp/negotiation.hpp"

namespace lss::sdp {
namespace {

LocalTransport server_transport() {
  LocalTransport l;
  l.ice_ufrag = "srvufrag";
  l.ice_pwd = "serverpassword0123456789";
  l.fingerprint_sha256 = "AB:CD";
  l.candidates = {{"127.0.0.1", 40000}};
  return l;
}

// What Chrome answers to offer_pull() after call.answer(cameraStream).
const char* kStreamerAnswer =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    "a=msid-semantic: WMS cam\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:brws\r\na=ice-pwd:browserpassword012345678\r\n"
    "a=fingerprint:sha-256 12:34\r\na=setup:active\r\na=mid:0\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=sendonly\r\na=msid:cam a1\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=ssrc:1001 cname:x\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:brws\r\na=ice-pwd:browserpassword012345678\r\n"
    "a=fingerprint:sha-256 12:34\r\na=setup:active\r\na=mid:1\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=sendonly\r\na=msid:cam v1\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
    "a=ssrc-group:FID 2001 2002\r\na=ssrc:2001 cname:x\r\na=ssrc:2002 cname:x\r\n";

TEST(PullOffer, OffersToReceiveAudioAndVideoAsAnIceLiteActpassOfferer) {
  auto sd = parse_sdp(offer_pull(server_transport()));
  ASSERT_TRUE(sd.ok()) << sd.error().message;
  ASSERT_EQ(sd->media.size(), 2u);
  EXPECT_EQ(sd->bundle_group(), (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(sd->attribute("ice-lite").has_value());
  EXPECT_EQ(sd->media[0].media, "audio");
  EXPECT_EQ(sd->media[1].media, "video");
  for (const auto& m : sd->media) {
    EXPECT_EQ(m.direction(), "recvonly");
    EXPECT_EQ(m.attribute("setup"), "actpass");  // RFC 5763: offers say actpass
    EXPECT_TRUE(m.has_attribute("rtcp-mux"));
    EXPECT_EQ(m.attribute("ice-ufrag"), "srvufrag");
    EXPECT_FALSE(m.attribute_values("candidate").empty());
  }
  // Every codec the SFU records, each with its RTX.
  std::vector<std::string> names;
  for (const auto& r : sd->media[1].rtpmaps()) names.push_back(r.encoding);
  EXPECT_EQ(names,
            (std::vector<std::string>{"VP8", "rtx", "VP9", "rtx", "H264", "rtx", "AV1", "rtx"}));
  EXPECT_NE(sd->media[1].fmtp(102).find("packetization-mode=1"), std::string::npos);
  auto with_dc = parse_sdp(offer_pull(server_transport(), {true}));
  ASSERT_TRUE(with_dc.ok());
  ASSERT_EQ(with_dc->media.size(), 3u);
  EXPECT_EQ(with_dc->media[2].media, "application");
  EXPECT_EQ(with_dc->media[2].attribute("sctp-port"), "5000");
}

TEST(PullOffer, TheStreamersAnswerBecomesThePublishedTracks) {
  auto answer = parse_sdp(kStreamerAnswer);
  ASSERT_TRUE(answer.ok());
  auto r = accept_pull_answer(answer.value(), server_transport());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_TRUE(r->sdp.empty());
  EXPECT_EQ(r->remote.ice_ufrag, "brws");
  EXPECT_EQ(r->remote.our_role, DtlsRole::kServer);  // the browser is active
  ASSERT_EQ(r->tracks.size(), 2u);
  EXPECT_EQ(r->tracks[0].codec.name, "opus");
  EXPECT_EQ(r->tracks[0].ssrcs, std::vector<uint32_t>{1001});
  EXPECT_EQ(r->tracks[1].codec.name, "VP8");
  EXPECT_EQ(r->tracks[1].codec.payload_type, 96);
  EXPECT_EQ(r->tracks[1].ssrcs, std::vector<uint32_t>{2001});
  EXPECT_EQ(r->tracks[1].rtx_ssrc, 2002u);
}

TEST(PullOffer, TheStreamerKeepsOurDataChannel) {
  std::string s = kStreamerAnswer;
  s.replace(s.find("BUNDLE 0 1"), 10, "BUNDLE 0 1 2");
  s += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
       "a=ice-ufrag:brws\r\na=ice-pwd:browserpassword012345678\r\n"
       "a=fingerprint:sha-256 12:34\r\na=setup:active\r\na=mid:2\r\n"
       "a=sctp-port:5001\r\na=max-message-size:0\r\n";
  auto r = accept_pull_answer(parse_sdp(s).value(), server_transport());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_TRUE(r->data_channel.has_value());
  EXPECT_EQ(r->data_channel->remote_port, 5001);
  EXPECT_EQ(r->data_channel->max_message_size, 262144u);  // 0: no limit, ours applies
  EXPECT_EQ(r->tracks.size(), 2u);
  // Without the section there is no data channel.
  EXPECT_FALSE(accept_pull_answer(parse_sdp(kStreamerAnswer).value(), server_transport())
                   ->data_channel.has_value());
}

TEST(PullOffer, AnAnswerThatSendsNothingIsRefused) {
  std::string s = kStreamerAnswer;
  for (size_t at; (at = s.find("a=sendonly")) != std::string::npos;)
    s.replace(at, 10, "a=inactive");
  auto answer = parse_sdp(s);
  ASSERT_TRUE(answer.ok());
  auto r = accept_pull_answer(answer.value(), server_transport());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
}

TEST(DataChannel, AViewersDataChannelIsAcceptedInTheBundle) {
  // PeerJS 1.5 media calls: audio, video and a data channel (mid 2).
  std::string offer = kStreamerAnswer;
  for (size_t at; (at = offer.find("a=sendonly")) != std::string::npos;)
    offer.replace(at, 10, "a=sendrecv");
  for (size_t at; (at = offer.find("a=setup:active")) != std::string::npos;)
    offer.replace(at, 14, "a=setup:actpass");
  offer.replace(offer.find("BUNDLE 0 1"), 10, "BUNDLE 0 1 2");
  offer +=
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
      "a=ice-ufrag:brws\r\na=ice-pwd:browserpassword012345678\r\n"
      "a=fingerprint:sha-256 12:34\r\na=setup:actpass\r\na=mid:2\r\n"
      "a=sctp-port:5000\r\na=max-message-size:262144\r\n";
  auto published = accept_pull_answer(parse_sdp(kStreamerAnswer).value(), server_transport());
  ASSERT_TRUE(published.ok());
  auto sd = parse_sdp(offer);
  ASSERT_TRUE(sd.ok()) << sd.error().message;
  SubscribeOptions opts{"cam", "lss", 11, 22};
  auto r = answer_subscribe(sd.value(), server_transport(), published->tracks, opts);
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_TRUE(r->data_channel.has_value());
  EXPECT_EQ(r->data_channel->mid, "2");
  EXPECT_EQ(r->data_channel->remote_port, 5000);
  EXPECT_EQ(r->data_channel->max_message_size, 262144u);
  auto answer = parse_sdp(r->sdp);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->bundle_group(), (std::vector<std::string>{"0", "1", "2"}));
  ASSERT_EQ(answer->media.size(), 3u);
  EXPECT_EQ(answer->media[2].port, 9);
  EXPECT_EQ(answer->media[2].attribute("setup"), "passive");
  EXPECT_FALSE(answer->media[2].has_attribute("rtcp-mux"));

  // Turned off, it is rejected (port 0) and left out of the bundle.
  opts.accept_data_channel = false;
  auto off = answer_subscribe(sd.value(), server_transport(), published->tracks, opts);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->data_channel.has_value());
  EXPECT_EQ(parse_sdp(off->sdp)->media[2].port, 0);
}

}  // namespace
}  // namespace lss::sdp
