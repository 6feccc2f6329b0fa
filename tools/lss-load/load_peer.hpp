#pragma once
// One WebRTC peer of the load test, publisher or viewer, on its own
// connected UDP socket: full-agent ICE checks with USE-CANDIDATE (the server
// is ICE-lite), DTLS client (the server answers a=setup:passive), SRTP. A
// viewer can also answer a remote offer (Janus: on_offer), where it answers
// the offerer's connectivity checks and takes the controlled role unless the
// offerer is ICE-lite; a publisher can send plain RTP to two UDP ports
// (start_plain_rtp) with no ICE, DTLS or SRTP at all. The
// same construction as tests/unit/sfu/test_peer.hpp, over a real socket and
// made cheap enough that one thread drives thousands: viewers read the
// (unencrypted) RTP header of every packet and unprotect only a sample.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"
#include "dtls/dtls_certificate.hpp"
#include "dtls/dtls_transport.hpp"
#include "frame_completion.hpp"
#include "media_source.hpp"
#include "sdp/session_description.hpp"
#include "srtp/srtp_session.hpp"
#include "stats.hpp"
#include "stun/stun_message.hpp"

namespace lss::load {

// What every peer shares: owned by the runner, outlives the peers.
struct PeerContext {
  std::shared_ptr<DtlsCertificate> cert;
  const Clip* clip = nullptr;
  std::string url_host;    // preferred candidate address
  std::string media_host;  // forced media address (--media-host)
  int srtp_sample = 16;
  uint64_t remb_bps = 0;  // viewers' REMB every second (--remb); 0: none
  Duration connect_timeout = seconds(10);
  Timestamp epoch = Clock::now();                    // arrival times for jitter count from here
  Histogram latency_us{10, 100000, 1000, 60000000};  // µs
  // Frame completion (frame_completion.hpp), µs: all viewers, and by the
  // viewer's position in the audience (join order, in kPositionGroups
  // groups of `viewers` / kPositionGroups).
  static constexpr size_t kPositionGroups = 10;
  size_t viewers = 1;
  Histogram frame_completion_us{10, 100000, 1000, 60000000};
  std::vector<Histogram> frame_completion_by_position =
      std::vector<Histogram>(kPositionGroups, Histogram{10, 100000, 1000, 60000000});
  size_t position_group(size_t viewer_index) const {
    return (viewer_index % viewers) * kPositionGroups / viewers;
  }
};

class LoadPeer {
 public:
  enum class Role { kViewer, kPublisher };
  enum class State { kNew, kSignaling, kIce, kDtls, kConnected, kClosed, kFailed };

  // kVideoPt is VP8's, kH264Pt H264's (packetization-mode=1), as Chrome numbers them.
  static constexpr uint8_t kVideoPt = 96, kH264Pt = 102, kAudioPt = 111, kAbsSendTimeId = 3;

  LoadPeer(size_t index, Role role, std::string stream, PeerContext& ctx);
  ~LoadPeer();
  LoadPeer(const LoadPeer&) = delete;
  LoadPeer& operator=(const LoadPeer&) = delete;

  // A browser-like offer: recvonly (viewer) or sendonly with SSRCs (publisher).
  std::string offer() const;
  void on_requested(Timestamp now) {
    requested_at = now;
    state_ = State::kSignaling;
  }
  // Reads the server's ICE credentials, fingerprint and candidate, opens the
  // socket and sends the first connectivity check.
  Status on_answer(const std::string& sdp, Timestamp now);
  // Viewer answering a remote offer (Janus' streaming plugin): picks the
  // offer's VP8 or H264 and Opus formats and abs-send-time id, opens the socket
  // towards the offer's candidate, returns a recvonly answer carrying this
  // peer's host candidate (a=setup:active: DTLS client) and starts checks.
  Result<std::string> on_offer(const std::string& sdp, Timestamp now);
  // Publisher sending unencrypted RTP, video and audio to their own ports
  // (a Janus streaming mountpoint). Connected from the start.
  Status start_plain_rtp(const SocketAddress& video, const SocketAddress& audio, Timestamp now);

  int fd() const { return fd_; }
  void on_readable(Timestamp now);
  // Retransmits checks and DTLS flights, sends consent checks and (for a
  // publisher) media that is due.
  void tick(Timestamp now);
  void fail(std::string why);
  // Stops sending; the socket stays open until destruction so late packets
  // are not answered with ICMP errors.
  void stop();
  // After a cycle's DELETE was answered: closes the socket and frees the
  // DTLS and SRTP state; the statistics stay for the report.
  void release();

  size_t index() const { return index_; }
  Role role() const { return role_; }
  State state() const { return state_; }
  // The state when stop() was called: where an unfinished peer got stuck.
  State state_at_stop() const { return state_at_stop_; }
  bool connected() const { return state_ == State::kConnected; }
  bool failed() const { return state_ == State::kFailed; }
  const std::string& stream() const { return stream_; }
  const std::string& error() const { return error_; }

  // Signalling.
  std::string location;       // resolved resource URL for DELETE
  uint64_t janus_handle = 0;  // Janus plugin handle of this viewer (--janus)
  Timestamp requested_at{};
  std::optional<Timestamp> left_at;  // --cycles: when it left (stop() before the run's end)
  std::optional<Timestamp> answered_at, connected_at, first_rtp_at, first_video_at, first_audio_at;

  // The video codec the remote description settled on ("VP8", "H264"), as written.
  std::string video_codec;

  // Viewer receive statistics.
  TrackReceive video_rx{90000}, audio_rx{48000};
  FrameCompletion video_frames;
  uint64_t rtcp_in = 0, srtp_checked = 0, srtp_failed = 0, datagrams_in = 0;
  uint64_t send_errors = 0;
  std::optional<SrtpProfile> srtp_profile;  // what the DTLS handshake picked

  // Publisher media.
  std::unique_ptr<MediaSender> sender;
  uint64_t rtcp_pli_in = 0, rtcp_nack_in = 0;

 private:
  Status open_socket();
  Result<sdp::Fingerprint> read_remote(const sdp::SessionDescription& sd);
  void send_check(Timestamp now);
  void answer_check(const StunMessage& request);
  void on_ice_success(Timestamp now);
  void send_datagram(const uint8_t* data, size_t len);
  void flush_dtls();
  void handle(uint8_t* data, size_t len, Timestamp now);
  void handle_rtp(uint8_t* data, size_t len, Timestamp now);
  void handle_rtcp(uint8_t* data, size_t len, Timestamp now);
  void send_sender_reports(Timestamp now);
  void send_remb();
  // The payload type of the publisher's clip codec.
  uint8_t publisher_video_pt() const {
    return ctx_.clip && ctx_.clip->video_codec == codec::VideoCodec::kH264 ? kH264Pt : kVideoPt;
  }
  // A publisher starts sending its clip (the first keyframe goes out now).
  void start_sender(Timestamp now);

  size_t index_;
  Role role_;
  std::string stream_;
  PeerContext& ctx_;
  State state_ = State::kNew;
  State state_at_stop_ = State::kNew;
  std::string error_;
  int fd_ = -1;
  int audio_fd_ = -1;  // plain RTP publisher: audio goes to its own port
  bool plain_rtp_ = false;
  bool controlling_ = true;  // ICE role: controlled only under a full-ICE offerer
  uint8_t video_pt_ = kVideoPt, audio_pt_ = kAudioPt, abs_send_time_id_ = kAbsSendTimeId;
  SocketAddress server_;
  std::string ufrag_, pwd_, remote_ufrag_, remote_pwd_;
  uint32_t video_ssrc_ = 0, audio_ssrc_ = 0;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpSession> srtp_in_, srtp_out_;
  Timestamp next_check_{}, last_check_ok_{}, next_sr_{}, next_remb_{};
  // Controlled role: DTLS starts once the offerer nominated (USE-CANDIDATE)
  // or, failing that, a while after our own check succeeded.
  std::optional<Timestamp> ice_ok_at_, dtls_due_;
  bool nominated_ = false;
  int checks_sent_ = 0;
  uint64_t rtp_seen_ = 0;
};

}  // namespace lss::load
