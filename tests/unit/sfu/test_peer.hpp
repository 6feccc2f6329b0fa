#pragma once
// An in-process WebRTC client for engine tests: full-agent ICE checks, DTLS
// client, SRTP, built from the project's own protocol modules. It talks to
// an Engine through a simulated network of queued datagrams.
#include <deque>
#include <memory>
#include <string>

#include "common/random.hpp"
#include "dtls/dtls_transport.hpp"
#include "sdp/session_description.hpp"
#include "srtp/srtp_session.hpp"
#include "stun/stun_message.hpp"

namespace lss::testing {

struct Datagram {
  Bytes data;
  SocketAddress from, to;
};

class TestPeer {
 public:
  TestPeer(SocketAddress address, std::shared_ptr<DtlsCertificate> cert)
      : address_(address),
        cert_(std::move(cert)),
        ufrag_(random_ice_chars(8)),
        pwd_(random_ice_chars(24)) {}

  // A Chrome-like offer: sendonly (publisher) or recvonly (viewer) Opus + VP8.
  // With `simulcast`, the video is offered as three rid layers q, h, f
  // (rtp-stream-id extension id 10, repaired-rtp-stream-id 11), no SSRCs.
  std::string offer(bool publisher, uint32_t audio_ssrc = 1111, uint32_t video_ssrc = 2222,
                    bool simulcast = false) const {
    const std::string dir = publisher ? "sendonly" : "recvonly";
    std::string s = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n";
    auto common = [&](const std::string& mid) {
      return "c=IN IP4 0.0.0.0\r\na=mid:" + mid + "\r\na=ice-ufrag:" + ufrag_ +
             "\r\na=ice-pwd:" + pwd_ + "\r\na=fingerprint:sha-256 " + cert_->fingerprint_sha256() +
             "\r\na=setup:actpass\r\na=rtcp-mux\r\na=" + dir + "\r\n";
    };
    s += "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + common("0") +
         "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
         "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";
    if (publisher) s += "a=ssrc:" + std::to_string(audio_ssrc) + " cname:test\r\n";
    s += "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n" + common("1") +
         "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
         "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
         "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 "
         "goog-remb\r\n"
         "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n";
    if (publisher && simulcast) {
      s += "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
           "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"
           "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n";
    } else if (publisher) {
      s += "a=ssrc:" + std::to_string(video_ssrc) + " cname:test\r\n";
    }
    return s;
  }

  // Reads the server's ICE credentials, fingerprint and address from its answer.
  bool set_answer(const std::string& answer) {
    auto sd = sdp::parse_sdp(answer);
    if (!sd.ok() || sd->media.empty()) return false;
    const auto& m = sd->media[0];
    remote_ufrag_ = m.attribute("ice-ufrag").value_or("");
    remote_pwd_ = m.attribute("ice-pwd").value_or("");
    auto fp = sd->fingerprint(m);
    if (!fp) return false;
    for (const auto& c : m.attribute_values("candidate")) {
      // "1 1 udp <prio> <ip> <port> typ host"
      std::vector<std::string> parts;
      size_t i = 0;
      while (i < c.size()) {
        size_t j = c.find(' ', i);
        if (j == std::string::npos) j = c.size();
        parts.push_back(c.substr(i, j - i));
        i = j + 1;
      }
      if (parts.size() >= 6) {
        server_ = *SocketAddress::parse(parts[4], uint16_t(std::stoi(parts[5])));
        break;
      }
    }
    dtls_ = std::make_unique<DtlsTransport>(cert_, DtlsTransport::Role::kClient, fp->algorithm,
                                            fp->value);
    return true;
  }

  // One connectivity check with USE-CANDIDATE.
  void send_check(std::deque<Datagram>& net) {
    TransactionId txid;
    for (auto& b : txid) b = uint8_t(random_u32());
    Bytes req = StunBuilder(stun::kBindingRequest, txid)
                    .add_string(stun::kAttrUsername, remote_ufrag_ + ":" + ufrag_)
                    .add_u32(stun::kAttrPriority, 0x6e7f1eff)
                    .add_u64(stun::kAttrIceControlling, 42)
                    .add(stun::kAttrUseCandidate, {})
                    .finish(remote_pwd_, true);
    net.push_back({std::move(req), address_, server_});
  }

  void receive(Datagram& d, std::deque<Datagram>& net, Timestamp now) {
    if (d.data.empty()) return;
    const uint8_t b = d.data[0];
    if (b <= 3) {
      auto m = StunMessage::parse(d.data);
      if (m.ok() && m->type() == stun::kBindingSuccess &&
          m->verify_message_integrity(remote_pwd_)) {
        ice_ok_ = true;
        if (dtls_->state() == DtlsTransport::State::kNew) dtls_->start(now);
      }
    } else if (b >= 20 && b <= 63) {
      dtls_->handle_datagram(d.data, now);
      if (dtls_->state() == DtlsTransport::State::kConnected && !srtp_out_) {
        auto keys = *dtls_->srtp_keys();
        srtp_out_ = std::move(
            SrtpSession::create(keys.profile, keys.local_master, SrtpSession::Direction::kOutbound)
                .value());
        srtp_in_ = std::move(
            SrtpSession::create(keys.profile, keys.remote_master, SrtpSession::Direction::kInbound)
                .value());
      }
    } else if (b >= 128 && b <= 191 && srtp_in_) {
      size_t len = d.data.size();
      const bool rtcp = d.data.size() > 1 && d.data[1] >= 192 && d.data[1] <= 223;
      const bool ok = rtcp ? srtp_in_->unprotect_rtcp(d.data.data(), len).ok()
                           : srtp_in_->unprotect_rtp(d.data.data(), len).ok();
      if (ok) {
        d.data.resize(len);
        (rtcp ? rtcp_in : rtp_in).push_back(d.data);
      }
    }
    flush(net);
  }

  void flush(std::deque<Datagram>& net) {
    if (!dtls_) return;
    for (auto& out : dtls_->take_outgoing()) net.push_back({std::move(out), address_, server_});
  }

  void send_rtp(Bytes packet, std::deque<Datagram>& net, bool rtcp = false) {
    size_t len = packet.size();
    packet.resize(len + SrtpSession::kMaxTrailer);
    const bool ok = rtcp ? srtp_out_->protect_rtcp(packet.data(), len, packet.size()).ok()
                         : srtp_out_->protect_rtp(packet.data(), len, packet.size()).ok();
    if (!ok) return;
    packet.resize(len);
    net.push_back({std::move(packet), address_, server_});
  }

  bool connected() const { return srtp_out_ != nullptr; }
  DtlsTransport& dtls() { return *dtls_; }
  const SocketAddress& address() const { return address_; }

  // ICE restarts and moves (ice_restart_test.cpp): the peer's own
  // credentials, the server's it checks against, and its address.
  const std::string& ice_ufrag() const { return ufrag_; }
  const std::string& ice_pwd() const { return pwd_; }
  const std::string& server_ufrag() const { return remote_ufrag_; }
  const std::string& server_pwd() const { return remote_pwd_; }
  void new_ice_credentials() {
    ufrag_ = random_ice_chars(8);
    pwd_ = random_ice_chars(24);
  }
  void set_server_credentials(std::string ufrag, std::string pwd) {
    remote_ufrag_ = std::move(ufrag);
    remote_pwd_ = std::move(pwd);
  }
  void set_address(const SocketAddress& a) { address_ = a; }

  std::vector<Bytes> rtp_in, rtcp_in;

 private:
  SocketAddress address_, server_;
  std::shared_ptr<DtlsCertificate> cert_;
  std::string ufrag_, pwd_, remote_ufrag_, remote_pwd_;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpSession> srtp_in_, srtp_out_;
  bool ice_ok_ = false;
};

// A VP8 RTP packet; `keyframe` sets the VP8 payload header's key bit.
inline Bytes make_vp8_packet(uint32_t ssrc, uint16_t seq, uint32_t ts, bool keyframe,
                             uint8_t pt = 96) {
  Bytes p;
  ByteWriter w(p);
  w.u8(0x80);
  w.u8(pt);
  w.u16(seq);
  w.u32(ts);
  w.u32(ssrc);
  w.u8(0x10);                    // VP8 descriptor: S=1, PID=0
  w.u8(keyframe ? 0x50 : 0x51);  // inverse key frame bit
  for (int i = 0; i < 100; ++i) w.u8(uint8_t(seq + i));
  return p;
}

// A VP8 packet of simulcast layer `rid` (rtp-stream-id in extension 10):
// `size` bytes of payload, each byte `fill` (to tell layers apart).
inline Bytes make_vp8_layer_packet(uint32_t ssrc, uint16_t seq, uint32_t ts, bool keyframe,
                                   const std::string& rid, size_t size, uint8_t fill) {
  Bytes p;
  ByteWriter w(p);
  w.u8(0x90);  // X: one header extension block
  w.u8(96);
  w.u16(seq);
  w.u32(ts);
  w.u32(ssrc);
  const size_t ext = 1 + rid.size();
  const size_t words = (ext + 3) / 4;
  w.u16(0xBEDE);
  w.u16(uint16_t(words));
  w.u8(uint8_t(10 << 4 | (rid.size() - 1)));
  for (char c : rid) w.u8(uint8_t(c));
  for (size_t i = ext; i < words * 4; ++i) w.u8(0);
  w.u8(0x10);                    // VP8 descriptor: S=1, PID=0
  w.u8(keyframe ? 0x50 : 0x51);  // inverse key frame bit
  for (size_t i = 0; i < size; ++i) w.u8(fill);
  return p;
}

}  // namespace lss::testing
