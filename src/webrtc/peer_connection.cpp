#include "webrtc/peer_connection.hpp"

#include <spdlog/spdlog.h>

namespace lss::webrtc {

namespace {
// RFC 7983 demultiplexing by the first byte; RFC 5761 for RTCP vs RTP.
enum class Kind { kStun, kDtls, kRtp, kRtcp, kOther };
Kind classify(const uint8_t* d, size_t n) {
  if (n < 2) return Kind::kOther;
  const uint8_t b = d[0];
  if (b <= 3) return Kind::kStun;
  if (b >= 20 && b <= 63) return Kind::kDtls;
  if (b >= 128 && b <= 191) return (d[1] >= 192 && d[1] <= 223) ? Kind::kRtcp : Kind::kRtp;
  return Kind::kOther;
}
}  // namespace

PeerConnection::PeerConnection(PeerConfig config, std::shared_ptr<DtlsCertificate> cert,
                               Transport& transport, Observer& observer, Timestamp now)
    : config_(std::move(config)),
      transport_(transport),
      observer_(observer),
      ice_(config_.local_ufrag, config_.local_pwd, config_.remote_ufrag, now),
      dtls_(std::make_unique<DtlsTransport>(
          std::move(cert),
          config_.dtls_client ? DtlsTransport::Role::kClient : DtlsTransport::Role::kServer,
          config_.remote_fingerprint_algorithm, config_.remote_fingerprint)),
      created_(now) {
  if (config_.controlling) {
    checks_ = std::make_unique<IceControllingChecks>(
        IceCredentials{config_.local_ufrag, config_.local_pwd},
        IceCredentials{config_.remote_ufrag, config_.controlling->remote_pwd},
        config_.controlling->candidates, now, config_.controlling->consent);
    state_ = State::kConnecting;
  }
}

PeerConnection::~PeerConnection() = default;

bool PeerConnection::handle_datagram(uint8_t* data, size_t size, const SocketAddress& from,
                                     Timestamp now) {
  if (state_ == State::kClosed) return false;
  switch (classify(data, size)) {
    case Kind::kStun: {
      if (checks_) {
        // Answers to our checks; a lite peer sends no checks of its own.
        if (!checks_->handle_response(ByteSpan(data, size), from, now)) return false;
        run_checks(now);
        return true;
      }
      IceResult r = ice_.handle_stun(ByteSpan(data, size), from, now);
      if (!r.response.empty()) transport_.send_datagram(r.response, from);
      if (!r.authenticated) return false;
      if (r.forgotten) forgotten_ = r.forgotten;
      if (r.restart_completed) {
        stats_.ice_restarts++;
        spdlog::info("peer {}: ICE restart complete (nominated from {})", config_.local_ufrag,
                     from.to_string());
      }
      // Media goes to the latest nominated pair (or the first valid one).
      if (auto sel = ice_.selected_address(); sel && sel != remote_) {
        if (remote_) {
          move_to(*sel, "nominated");
        } else {
          remote_ = *sel;
        }
      }
      if (state_ == State::kNew) state_ = State::kConnecting;
      if (remote_) start_dtls(now);
      return true;
    }
    case Kind::kDtls:
      // From the media address, or from another address a valid check came
      // from, which then becomes the media address, as authenticated media
      // does below (and as mediasoup does for DTLS): a peer may begin its
      // handshake on one pair and nominate another mid-way (Firefox moving
      // from UDP to ICE-TCP), and its next flights, and so our answers,
      // travel the new one. Anything else is not from this peer's ICE.
      if (follow(from, "dtls")) handle_dtls(ByteSpan(data, size), now);
      return false;
    case Kind::kRtp: {
      if (!srtp_in_) return false;
      size_t len = size;
      if (!srtp_in_->unprotect_rtp(data, len)) {
        stats_.srtp_errors++;
        return false;
      }
      stats_.rtp_in++;
      follow(from, "media");
      observer_.on_rtp(*this, data, len, now);
      return false;
    }
    case Kind::kRtcp: {
      if (!srtp_in_) return false;
      size_t len = size;
      if (!srtp_in_->unprotect_rtcp(data, len)) {
        stats_.srtp_errors++;
        return false;
      }
      stats_.rtcp_in++;
      follow(from, "media");
      observer_.on_rtcp(*this, data, len, now);
      return false;
    }
    case Kind::kOther:
      stats_.dropped++;
      return false;
  }
  return false;
}

void PeerConnection::start_dtls(Timestamp now) {
  if (dtls_started_) return;
  dtls_started_ = true;
  dtls_->start(now);
  flush_dtls();
}

void PeerConnection::run_checks(Timestamp now) {
  for (auto& [bytes, to] : checks_->due(now)) transport_.send_datagram(bytes, to);
  if (!remote_ && checks_->selected()) {
    remote_ = *checks_->selected();
    spdlog::debug("peer {}: ICE nominated {}", config_.local_ufrag, remote_->to_string());
    start_dtls(now);
  }
}

void PeerConnection::restart_ice(std::string local_ufrag, std::string local_pwd,
                                 std::string remote_ufrag) {
  spdlog::info("peer {}: ICE restart, new ufrag {} (peer's {})", config_.local_ufrag, local_ufrag,
               remote_ufrag);
  config_.local_ufrag = local_ufrag;
  config_.local_pwd = local_pwd;
  config_.remote_ufrag = remote_ufrag;
  ice_.restart(std::move(local_ufrag), std::move(local_pwd), std::move(remote_ufrag));
}

bool PeerConnection::follow(const SocketAddress& from, const char* why) {
  if (!remote_) return false;
  if (from == *remote_) return true;
  if (!ice_.select_if_validated(from)) return false;
  move_to(from, why);
  return true;
}

void PeerConnection::move_to(const SocketAddress& to, const char* why) {
  // Before media flows this is ICE still choosing (debug); after, the peer moved.
  spdlog::log(state_ == State::kConnected ? spdlog::level::info : spdlog::level::debug,
              "peer {}: media address {} -> {} ({})", config_.local_ufrag,
              remote_ ? remote_->to_string() : std::string("none"), to.to_string(), why);
  remote_ = to;
  if (state_ == State::kConnected) stats_.address_changes++;
}

void PeerConnection::handle_dtls(ByteSpan data, Timestamp now) {
  if (!dtls_started_) return;
  dtls_->handle_datagram(data, now);
  flush_dtls();
  feed_sctp();
  if (state_ == State::kClosed) return;
  switch (dtls_->state()) {
    case DtlsTransport::State::kConnected:
      if (state_ != State::kConnected) on_dtls_connected(now);
      break;
    case DtlsTransport::State::kClosed:
      finish("DTLS closed by peer");
      break;
    case DtlsTransport::State::kFailed:
      if (state_ != State::kConnected) stats_.dtls_failures = 1;
      finish("DTLS failed: " + dtls_->error());
      break;
    default:
      break;
  }
}

void PeerConnection::flush_dtls() {
  for (const Bytes& d : dtls_->take_outgoing()) {
    if (remote_) transport_.send_datagram(d, *remote_);
  }
}

void PeerConnection::on_dtls_connected(Timestamp now) {
  auto keys = dtls_->srtp_keys();
  if (!keys) return finish("DTLS connected without SRTP keys");
  auto in =
      SrtpSession::create(keys->profile, keys->remote_master, SrtpSession::Direction::kInbound);
  auto out =
      SrtpSession::create(keys->profile, keys->local_master, SrtpSession::Direction::kOutbound);
  if (!in || !out) return finish("SRTP setup failed");
  srtp_in_ = std::move(in.value());
  srtp_out_ = std::move(out.value());
  state_ = State::kConnected;
  observer_.on_connected(*this, now);
  if (config_.data_channel && state_ == State::kConnected) start_sctp();
}

void PeerConnection::start_sctp() {
  sctp::SctpAssociation::Callbacks cb;
  cb.send_packet = [this](ByteSpan packet) {
    if (dtls_->send_application_data(packet)) flush_dtls();
  };
  cb.on_channel_closed = [this](uint16_t) {
    // PeerJS closes its call's channel to hang up.
    close("the peer closed its data channel");
  };
  cb.on_closed = [this](const std::string& reason) {
    close("data channel association ended: " + reason);
  };
  cb.on_warning = [this](const std::string& what) {
    spdlog::debug("peer {}: data channel: {}", config_.local_ufrag, what);
  };
  sctp_ = std::make_unique<sctp::SctpAssociation>(config_.data_channel->local_port,
                                                  config_.data_channel->remote_port,
                                                  config_.dtls_client, std::move(cb));
  if (auto st = sctp_->start(); !st) {
    spdlog::warn("peer {}: data channel not started: {}", config_.local_ufrag, st.message());
    sctp_.reset();
    return;
  }
  if (config_.data_channel->open_channel) {
    if (auto id = sctp_->open_channel(config_.data_channel->label); !id.ok()) {
      spdlog::warn("peer {}: cannot open a data channel: {}", config_.local_ufrag,
                   id.error().message);
    }
  }
  feed_sctp();  // the peer's INIT may have come with the last handshake flight
}

// DTLS application data is SCTP (RFC 8261); without an association it is
// dropped so it cannot pile up.
void PeerConnection::feed_sctp() {
  auto packets = dtls_->take_received_application_data();
  if (!sctp_) return;
  for (const Bytes& p : packets) {
    stats_.sctp_in++;
    sctp_->handle_packet(p);
    if (state_ == State::kClosed) return;
  }
}

void PeerConnection::tick(Timestamp now) {
  if (state_ == State::kClosed) return;
  if (dtls_started_) {
    if (auto t = dtls_->next_timeout(now); t && *t <= now) {
      dtls_->handle_timeout(now);
      flush_dtls();
      if (dtls_->state() == DtlsTransport::State::kFailed) {
        if (state_ != State::kConnected) stats_.dtls_failures = 1;
        return finish("DTLS failed: " + dtls_->error());
      }
    }
  }
  if (sctp_) {
    sctp_->tick(now);
    if (state_ == State::kClosed) return;
  }
  if (state_ != State::kConnected && now - created_ > config_.connect_timeout) {
    return finish("connection not established in time");
  }
  if (checks_) {
    run_checks(now);
    if (checks_->failed(now)) {
      close(remote_ ? "ICE consent lost (the peer stopped answering checks)"
                    : "ICE failed: " + (checks_->error().empty() ? std::string("no pair worked")
                                                                 : checks_->error()));
    }
    return;
  }
  if (ice_.consent_expired(now, config_.consent_timeout)) close("ICE consent expired");
}

bool PeerConnection::send_rtp(uint8_t* data, size_t size, size_t capacity, Timestamp release,
                              uint32_t tag) {
  if (state_ != State::kConnected || !remote_) return false;
  size_t len = size;
  if (!srtp_out_->protect_rtp(data, len, capacity)) {
    stats_.srtp_errors++;
    return false;
  }
  stats_.rtp_out++;
  if (release != Timestamp{}) {
    transport_.send_datagram_at(ByteSpan(data, len), *remote_, release, tag);
  } else {
    transport_.send_datagram(ByteSpan(data, len), *remote_);
  }
  return true;
}

bool PeerConnection::send_rtcp(uint8_t* data, size_t size, size_t capacity) {
  if (state_ != State::kConnected || !remote_) return false;
  size_t len = size;
  if (!srtp_out_->protect_rtcp(data, len, capacity)) {
    stats_.srtp_errors++;
    return false;
  }
  stats_.rtcp_out++;
  transport_.send_datagram(ByteSpan(data, len), *remote_);
  return true;
}

void PeerConnection::close(const std::string& reason) {
  if (state_ == State::kClosed || closing_) return;
  closing_ = true;
  // SHUTDOWN first, so a PeerJS far end closes its call from the channel
  // even if the DTLS alert is lost.
  if (sctp_ && !sctp_->closed()) sctp_->close();
  if (dtls_started_) {
    dtls_->close();
    flush_dtls();
  }
  finish(reason);
}

void PeerConnection::finish(const std::string& reason) {
  if (closed_notified_) return;
  closed_notified_ = true;
  state_ = State::kClosed;
  observer_.on_closed(*this, reason);
}

}  // namespace lss::webrtc
