#pragma once
// The pieces every SDP the SFU writes is made of (offers and answers alike):
// the session header, the ICE-lite transport lines, codec lines, rejected and
// data-channel sections. Shared by the answer builders and the offer builder.
#include <optional>
#include <string>
#include <vector>

#include "sdp/negotiation.hpp"
#include "sdp/session_description.hpp"

namespace lss::sdp {

inline constexpr const char* kUriMid = "urn:ietf:params:rtp-hdrext:sdes:mid";
inline constexpr const char* kUriAbsSendTime =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
inline constexpr const char* kUriTwcc =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
inline constexpr const char* kUriRid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
inline constexpr const char* kUriRepairedRid =
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
inline constexpr const char* kUriAudioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

// The SCTP port we listen on inside DTLS, and the largest message we take
// (RFC 8841; the values browsers use).
inline constexpr uint16_t kSctpPort = 5000;
inline constexpr uint32_t kMaxMessageSize = 262144;

// How our a=setup line reads: answers state our role; an offer says actpass
// (RFC 5763 §5: the offerer must offer actpass).
enum class SetupLine { kActive, kPassive, kActpass };

SetupLine setup_for(DtlsRole our_role);

struct SessionHeader {
  std::vector<std::string> bundle;  // mids of a=group:BUNDLE (none: no group)
  std::string msid_stream;          // a=msid-semantic stream id (empty: none)
  bool extmap_allow_mixed = false;  // RFC 8285 §6, echoed when offered at session level
  // Answers state the transport at session level too: strict parsers
  // (GStreamer's webrtcbin) look there for every section, rejected ones included.
  const LocalTransport* transport = nullptr;
  SetupLine setup = SetupLine::kActpass;
  // We answer every browser as ICE-lite; a node pulling from another node
  // is a full agent (it checks: see webrtc::PeerConfig::controlling).
  bool ice_lite = true;
};

std::string session_header(const SessionHeader& header);
// ICE credentials, fingerprint, setup, our host candidates; `rtcp_mux` for
// RTP sections only.
std::string transport_lines(const LocalTransport& local, SetupLine setup, bool rtcp_mux = true);
// A rejected section (port 0): the offer's media, proto and formats, its
// mid (RFC 8829 §5.3.1) and our a=setup, which webrtcbin wants in every section.
std::string rejected_section(const MediaSection& m, SetupLine setup);
std::string codec_lines(const CodecParams& c, const std::vector<std::string>& fbs,
                        std::optional<uint8_t> rtx);
// An `m=application` SCTP data-channel section (RFC 8841); `proto` as offered.
std::string data_channel_section(const LocalTransport& local, SetupLine setup,
                                 const std::string& mid,
                                 const std::string& proto = "UDP/DTLS/SCTP");

}  // namespace lss::sdp
