#pragma once
// One WebRTC peer of the load test, publisher or viewer, on its own
// connected UDP socket: full-agent ICE checks with USE-CANDIDATE (the server
// is ICE-lite), DTLS client (the server answers a=setup:passive), SRTP. The
// same construction as tests/unit/sfu/test_peer.hpp, over a real socket and
// made cheap enough that one thread drives thousands: viewers read the
// (unencrypted) RTP header of every packet and unprotect only a sample.
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"
#include "dtls/dtls_certificate.hpp"
#include "dtls/dtls_transport.hpp"
#include "media_source.hpp"
#include "srtp/srtp_session.hpp"
#include "stats.hpp"

namespace lss::load {

// What every peer shares: owned by the runner, outlives the peers.
struct PeerContext {
  std::shared_ptr<DtlsCertificate> cert;
  const Clip* clip = nullptr;
  std::string url_host;    // preferred candidate address
  std::string media_host;  // forced media address (--media-host)
  int srtp_sample = 16;
  Duration connect_timeout = seconds(10);
  Timestamp epoch = Clock::now();                    // arrival times for jitter count from here
  Histogram latency_us{10, 100000, 1000, 60000000};  // µs
};

class LoadPeer {
 public:
  enum class Role { kViewer, kPublisher };
  enum class State { kNew, kSignaling, kIce, kDtls, kConnected, kClosed, kFailed };

  static constexpr uint8_t kVideoPt = 96, kAudioPt = 111, kAbsSendTimeId = 3;

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

  int fd() const { return fd_; }
  void on_readable(Timestamp now);
  // Retransmits checks and DTLS flights, sends consent checks and (for a
  // publisher) media that is due.
  void tick(Timestamp now);
  void fail(std::string why);
  // Stops sending; the socket stays open until destruction so late packets
  // are not answered with ICMP errors.
  void stop();

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
  std::string location;  // resolved resource URL for DELETE
  Timestamp requested_at{};
  std::optional<Timestamp> answered_at, connected_at, first_rtp_at, first_video_at, first_audio_at;

  // Viewer receive statistics.
  TrackReceive video_rx{90000}, audio_rx{48000};
  uint64_t rtcp_in = 0, srtp_checked = 0, srtp_failed = 0, datagrams_in = 0;
  uint64_t send_errors = 0;

  // Publisher media.
  std::unique_ptr<MediaSender> sender;
  uint64_t rtcp_pli_in = 0, rtcp_nack_in = 0;

 private:
  void send_check(Timestamp now);
  void send_datagram(const uint8_t* data, size_t len);
  void flush_dtls();
  void handle(uint8_t* data, size_t len, Timestamp now);
  void handle_rtp(uint8_t* data, size_t len, Timestamp now);
  void handle_rtcp(uint8_t* data, size_t len, Timestamp now);
  void send_sender_reports(Timestamp now);

  size_t index_;
  Role role_;
  std::string stream_;
  PeerContext& ctx_;
  State state_ = State::kNew;
  State state_at_stop_ = State::kNew;
  std::string error_;
  int fd_ = -1;
  SocketAddress server_;
  std::string ufrag_, pwd_, remote_ufrag_, remote_pwd_;
  uint32_t video_ssrc_ = 0, audio_ssrc_ = 0;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpSession> srtp_in_, srtp_out_;
  Timestamp next_check_{}, last_check_ok_{}, next_sr_{};
  int checks_sent_ = 0;
  uint64_t rtp_seen_ = 0;
};

}  // namespace lss::load
