#pragma once
// The SFU's side of JSEP offer/answer (RFC 8829): answers to a publisher's
// offer (WHIP) and to a viewer's offer (WHEP) for an ICE-lite, BUNDLE-only,
// rtcp-mux-only server. Failures carry the HTTP status to answer with.
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "sdp/session_description.hpp"

namespace lss::sdp {

struct LocalTransport {
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint_sha256;                                // "AB:CD:..."
  std::vector<std::pair<std::string, uint16_t>> candidates;      // UDP host (ip, port)
  std::vector<std::pair<std::string, uint16_t>> tcp_candidates;  // passive ICE-TCP (ip, port)
};

enum class DtlsRole { kClient, kServer };

struct RemoteTransport {
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint_algorithm, fingerprint_value;
  DtlsRole our_role = DtlsRole::kServer;
};

struct CodecParams {
  uint8_t payload_type = 0;
  std::string name;  // "VP8", "VP9", "H264", "AV1", "opus"
  uint32_t clock_rate = 0;
  uint8_t channels = 0;
  std::string fmtp;
  std::vector<std::string> rtcp_fbs;
  std::optional<uint8_t> rtx_payload_type;
};

struct ExtensionMap {
  uint8_t id;
  std::string uri;
};

struct NegotiatedTrack {
  enum Kind { kAudio, kVideo };
  std::string mid;
  Kind kind = kAudio;
  CodecParams codec;
  std::vector<ExtensionMap> extensions;
  std::vector<uint32_t> ssrcs;       // publisher's, primary first (may be empty)
  std::optional<uint32_t> rtx_ssrc;  // from a=ssrc-group:FID
  // Simulcast layers by rid (RFC 8853), in the publisher's order; empty
  // without simulcast. Their SSRCs are learnt from the rid extension.
  std::vector<std::string> rids;
};

struct NegotiationError {
  int status;  // HTTP status: 400 malformed, 406 not acceptable, ...
  std::string reason;
};

// An accepted SCTP data-channel section (RFC 8841).
struct DataChannelParams {
  std::string mid;
  uint16_t remote_port = 5000;        // the peer's a=sctp-port
  uint32_t max_message_size = 65536;  // the peer's a=max-message-size (RFC 8841 §6.1 default)
};

// The first usable `m=application ... webrtc-datachannel` section of `sd`, if any.
std::optional<size_t> find_data_channel_section(const SessionDescription& sd);
DataChannelParams data_channel_params(const MediaSection& m);

struct PublishAnswer {
  std::string sdp;
  RemoteTransport remote;
  std::vector<NegotiatedTrack> tracks;
  std::optional<DataChannelParams> data_channel;  // set by accept_pull_answer only
};

struct PublishOptions {
  // Accept transport-wide congestion control feedback (we then must send it).
  bool transport_cc = true;
  // Accept simulcast (a=simulcast:send with rids) and answer a=simulcast:recv.
  bool simulcast = true;
};

Result<PublishAnswer, NegotiationError> answer_publish(const SessionDescription& offer,
                                                       const LocalTransport& local,
                                                       const PublishOptions& options = {});

struct SubscribeOptions {
  std::string stream_id;  // msid stream id
  std::string cname;
  uint32_t audio_ssrc = 0, video_ssrc = 0;
  // Repairs go on their own SSRC (RFC 4588) to viewers that offer RTX; 0: never.
  uint32_t video_rtx_ssrc = 0;
  // Transport-wide congestion control feedback from viewers that offer it
  // (the server then numbers what it sends and estimates each viewer's path).
  bool transport_cc = true;
  // Accept the offer's data channel (PeerJS media calls carry one and hang up
  // when it fails, so it is accepted rather than rejected).
  bool accept_data_channel = true;
};

struct SubscribedTrack {
  std::string published_mid;  // which published track this carries
  std::string mid;            // the viewer's m-section
  NegotiatedTrack::Kind kind = NegotiatedTrack::kAudio;
  uint8_t payload_type = 0;  // the viewer's payload type for the publisher's codec
  uint32_t ssrc = 0;
  std::optional<uint8_t> rtx_payload_type;  // the viewer's RTX payload type, when negotiated
  uint32_t rtx_ssrc = 0;
  uint8_t twcc_ext_id = 0;  // the viewer's transport-wide sequence number extension (0: none)
  // Publisher header extension id -> the viewer's id for the same URI (0: drop).
  std::array<uint8_t, 256> extension_map{};
};

struct SubscribeAnswer {
  std::string sdp;
  RemoteTransport remote;
  std::vector<SubscribedTrack> tracks;
  std::optional<DataChannelParams> data_channel;
};

Result<SubscribeAnswer, NegotiationError> answer_subscribe(
    const SessionDescription& offer, const LocalTransport& local,
    const std::vector<NegotiatedTrack>& published, const SubscribeOptions& options);

// True when a decoder for `b`'s H264 fmtp can decode a stream described by
// `a` (packetization-mode equal, compatible profile; levels may differ).
bool h264_compatible(std::string_view fmtp_a, std::string_view fmtp_b);

}  // namespace lss::sdp
