#pragma once
// One WebRTC peer as the SFU sees it: ICE-lite + DTLS-SRTP over one bundled
// UDP 5-tuple, sans-I/O. The media worker feeds it datagrams and ticks; it
// emits datagrams through a Transport and decrypted RTP/RTCP through an
// Observer. It never touches a socket or the clock.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "common/socket_address.hpp"
#include "common/time.hpp"
#include "dtls/dtls_certificate.hpp"
#include "dtls/dtls_transport.hpp"
#include "sctp/sctp_association.hpp"
#include "srtp/srtp_session.hpp"
#include "stun/ice_controlling_checks.hpp"
#include "stun/ice_lite_agent.hpp"

namespace lss::webrtc {

// An SCTP data channel association negotiated in SDP (an m=application
// section). The SFU carries no application data: the channel exists because
// PeerJS media calls hang up when theirs closes, which makes it the way both
// ends notice a hang-up at once.
struct DataChannelConfig {
  uint16_t local_port = 5000;   // our a=sctp-port
  uint16_t remote_port = 5000;  // the peer's a=sctp-port
  bool open_channel = false;    // we open one (when we offered the section)
  std::string label = "lss";
};

struct PeerConfig {
  std::string local_ufrag, local_pwd;
  std::string remote_ufrag;
  bool dtls_client = false;  // true when the remote offered setup:passive
  std::string remote_fingerprint_algorithm, remote_fingerprint;
  Duration consent_timeout = std::chrono::seconds(15);
  Duration connect_timeout = std::chrono::seconds(30);
  std::optional<DataChannelConfig> data_channel;
  // Set: we are the full, controlling ICE agent toward an ICE-lite peer (a
  // node pulling a stream from another node's WHEP) and check these
  // candidates ourselves; the peer's checks are not answered. Unset: we are
  // the ICE-lite side, as toward browsers.
  struct Controlling {
    std::string remote_pwd;
    std::vector<SocketAddress> candidates;
    IceControllingChecks::Consent consent;
  };
  std::optional<Controlling> controlling;
};

class PeerConnection {
 public:
  enum class State { kNew, kConnecting, kConnected, kClosed };

  class Transport {
   public:
    virtual ~Transport() = default;
    virtual void send_datagram(ByteSpan data, const SocketAddress& to) = 0;
    // A buffer of at least `capacity` bytes to build an outgoing packet in,
    // which send_datagram() then takes without copying it; null for none.
    virtual uint8_t* send_buffer(size_t /*capacity*/) { return nullptr; }
    // Sends `data` at `release`, a time after now (pacing); at once where
    // the transport does not pace. A pacing transport tells the peer when
    // it went, with `tag` (PeerConnection::released).
    virtual void send_datagram_at(ByteSpan data, const SocketAddress& to, Timestamp /*release*/,
                                  uint32_t /*tag*/) {
      send_datagram(data, to);
    }
  };

  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void on_connected(PeerConnection& pc, Timestamp now) = 0;
    // Decrypted packets; the buffer may be modified and is valid during the call.
    virtual void on_rtp(PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) = 0;
    virtual void on_rtcp(PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) = 0;
    virtual void on_closed(PeerConnection& pc, const std::string& reason) = 0;
    // A packet sent with a release time and a tag (send_rtp) left at `at`.
    virtual void on_released(PeerConnection& /*pc*/, uint32_t /*tag*/, Timestamp /*at*/) {}
  };

  PeerConnection(PeerConfig config, std::shared_ptr<DtlsCertificate> cert, Transport& transport,
                 Observer& observer, Timestamp now);
  ~PeerConnection();

  // Returns true when the datagram was authenticated STUN from `from`, so the
  // caller can route later non-STUN datagrams from that address to this peer.
  bool handle_datagram(uint8_t* data, size_t size, const SocketAddress& from, Timestamp now);
  // Retransmission timers and consent freshness.
  void tick(Timestamp now);

  // ICE restart (WHIP/WHEP PATCH): new local ICE credentials and the peer's
  // new ufrag; DTLS, SRTP and the media address stay. Checks with the old
  // credentials are answered until the peer nominates with the new ones
  // (see IceLiteAgent::restart).
  void restart_ice(std::string local_ufrag, std::string local_pwd, std::string remote_ufrag);
  bool ice_restart_pending() const { return ice_.restart_pending(); }
  const std::string& remote_ufrag() const { return ice_.remote_ufrag(); }
  // An address this peer no longer answers for (dropped from its validated
  // ones): the caller stops routing it here. Cleared by the call.
  std::optional<SocketAddress> take_forgotten_address() { return std::exchange(forgotten_, {}); }

  // Protect in place and send. `capacity` must leave room for the SRTP trailer
  // (kSrtpTrailerRoom). Returns false when not connected or protection failed.
  // With `release` set, the datagram leaves then (Transport::send_datagram_at),
  // and a non-zero `tag` comes back to the observer's on_released() when it
  // has gone.
  bool send_rtp(uint8_t* data, size_t size, size_t capacity, Timestamp release = {},
                uint32_t tag = 0);
  // The transport sent the datagram tagged `tag` at `at`.
  void released(uint32_t tag, Timestamp at) { observer_.on_released(*this, tag, at); }
  // Where to build the next packet for send_rtp so that it leaves without
  // another copy (Transport::send_buffer); null for none.
  uint8_t* send_buffer(size_t capacity) { return transport_.send_buffer(capacity); }
  bool send_rtcp(uint8_t* data, size_t size, size_t capacity);

  // Ends the peer: the data channel association shuts down, DTLS
  // close_notify, no more STUN answers. Idempotent; the observer's on_closed
  // runs once.
  void close(const std::string& reason);

  State state() const { return state_; }
  bool connected() const { return state_ == State::kConnected; }
  const std::string& local_ufrag() const { return config_.local_ufrag; }
  std::optional<SocketAddress> remote_address() const { return remote_; }

  static constexpr size_t kSrtpTrailerRoom = 64;

  struct Stats {
    uint64_t rtp_in = 0, rtcp_in = 0, rtp_out = 0, rtcp_out = 0, srtp_errors = 0, dropped = 0;
    uint64_t sctp_in = 0;
    uint64_t ice_restarts = 0;     // completed: the peer nominated with new credentials
    uint64_t address_changes = 0;  // the media address moved while connected
    uint64_t dtls_failures = 0;    // 1 when the DTLS handshake failed
  };
  const Stats& stats() const { return stats_; }

 private:
  void handle_dtls(ByteSpan data, Timestamp now);
  void flush_dtls();
  void on_dtls_connected(Timestamp now);
  void finish(const std::string& reason);
  void start_sctp();
  void feed_sctp();
  // The media address becomes `to` (a nomination, or media from a validated address).
  // True when `from` is the media address, or an address a valid check
  // came from, which then becomes the media address (the peer moved).
  bool follow(const SocketAddress& from, const char* why);
  void move_to(const SocketAddress& to, const char* why);
  // Controlling: sends the checks due and takes the nominated pair once.
  void run_checks(Timestamp now);
  void start_dtls(Timestamp now);

  PeerConfig config_;
  Transport& transport_;
  Observer& observer_;
  IceLiteAgent ice_;
  std::unique_ptr<IceControllingChecks> checks_;  // when config_.controlling
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpSession> srtp_in_, srtp_out_;
  std::unique_ptr<sctp::SctpAssociation> sctp_;
  std::optional<SocketAddress> remote_;
  std::optional<SocketAddress> forgotten_;
  State state_ = State::kNew;
  Timestamp created_;
  bool dtls_started_ = false;
  bool closed_notified_ = false;
  bool closing_ = false;
  Stats stats_;
};

}  // namespace lss::webrtc
