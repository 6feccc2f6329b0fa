#include "sdp/pull_offer.hpp"

#include "sdp/sdp_writer.hpp"

namespace lss::sdp {

namespace {

// Extension ids of our offer; the answer echoes the ones the streamer keeps.
std::string extmaps(bool video) {
  std::string s;
  if (!video) s += std::string("a=extmap:1 ") + kUriAudioLevel + "\r\n";
  s += std::string("a=extmap:2 ") + kUriAbsSendTime + "\r\n";
  s += std::string("a=extmap:3 ") + kUriTwcc + "\r\n";
  s += std::string("a=extmap:4 ") + kUriMid + "\r\n";
  return s;
}

const std::vector<std::string> kVideoFeedback = {"goog-remb", "transport-cc", "ccm fir", "nack",
                                                 "nack pli"};

CodecParams codec(uint8_t pt, const char* name, uint32_t clock, uint8_t channels,
                  std::string fmtp) {
  CodecParams c;
  c.payload_type = pt;
  c.name = name;
  c.clock_rate = clock;
  c.channels = channels;
  c.fmtp = std::move(fmtp);
  return c;
}

}  // namespace

std::string offer_pull(const LocalTransport& local, const PullOfferOptions& options) {
  std::vector<std::string> bundle = {"0", "1"};
  if (options.data_channel) bundle.push_back("2");
  SessionHeader header;
  header.bundle = bundle;
  header.ice_lite = options.ice_lite;
  std::string sdp = session_header(header);

  sdp += "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
  sdp += transport_lines(local, SetupLine::kActpass);
  sdp += "a=mid:0\r\n";
  sdp += extmaps(false);
  sdp += "a=recvonly\r\na=rtcp-rsize\r\n";
  sdp += codec_lines(codec(111, "opus", 48000, 2, "minptime=10;useinbandfec=1"), {"transport-cc"},
                     std::nullopt);

  // Payload types as Chrome numbers them, so logs and captures look familiar.
  const CodecParams video[] = {
      codec(96, "VP8", 90000, 0, ""),
      codec(98, "VP9", 90000, 0, "profile-id=0"),
      codec(102, "H264", 90000, 0,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
      codec(45, "AV1", 90000, 0, ""),
  };
  sdp += "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 102 103 45 46\r\n";
  sdp += transport_lines(local, SetupLine::kActpass);
  sdp += "a=mid:1\r\n";
  sdp += extmaps(true);
  sdp += "a=recvonly\r\na=rtcp-rsize\r\n";
  for (const auto& c : video) {
    sdp += codec_lines(c, kVideoFeedback, uint8_t(c.payload_type + 1));
  }
  if (options.data_channel) sdp += data_channel_section(local, SetupLine::kActpass, "2");
  return sdp;
}

Result<PublishAnswer, NegotiationError> accept_pull_answer(const SessionDescription& answer,
                                                           const LocalTransport& local) {
  // An answer to our recvonly offer has the shape of a publisher's offer:
  // sendonly sections, one codec each, the streamer's SSRCs. Negotiating it
  // as such yields exactly the tracks; the SDP it would answer is dropped.
  // Its a=setup is active (we are the DTLS server) or passive (we are the
  // client), which is how remote_transport reads a publisher's offer too.
  auto negotiated = answer_publish(answer, local);
  if (!negotiated.ok()) return negotiated.error();
  PublishAnswer out = std::move(negotiated.value());
  out.sdp.clear();
  // The data channel we offered, if the streamer kept it.
  if (auto i = find_data_channel_section(answer)) {
    out.data_channel = data_channel_params(answer.media[*i]);
  }
  return out;
}

}  // namespace lss::sdp
