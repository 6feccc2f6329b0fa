#include "load_peer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/random.hpp"
#include "rtp/rtcp_packets.hpp"
#include "rtp/rtp_packet.hpp"
#include "sdp/session_description.hpp"
#include "stun/stun_message.hpp"

namespace lss::load {

namespace {

constexpr size_t kBatch = 32;
// Controlled role: the offerer (libnice in Janus) sets up its DTLS endpoint
// only after its ICE state change, a moment after it nominated; a ClientHello
// sent at once is dropped and costs the 1 s DTLS retransmission timeout.
constexpr Duration kDtlsDelay = milliseconds(50);
constexpr size_t kMaxDatagram = 2048;

// One receive batch for all peers: the media thread is the only reader.
struct RecvBatch {
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  uint8_t bufs[kBatch][kMaxDatagram];
  RecvBatch() {
    std::memset(msgs, 0, sizeof msgs);
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i], kMaxDatagram};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
};
RecvBatch g_batch;

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

socklen_t to_sockaddr(const SocketAddress& a, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.is_ipv4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(a.port);
    std::memcpy(&sin->sin_addr, a.ip.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(a.port);
  std::memcpy(&sin6->sin6_addr, a.ip.data(), 16);
  return sizeof(sockaddr_in6);
}

// The format lss-load takes from a remote section: Opus for audio, VP8 or
// H264 for video, whichever comes first (viewers only count video packets,
// so either will do).
std::optional<sdp::RtpMap> accepted_codec(const sdp::MediaSection& m) {
  const bool audio = m.media == "audio";
  if (!audio && m.media != "video") return std::nullopt;
  for (const auto& rm : m.rtpmaps()) {
    if (audio) {
      std::string name = rm.encoding;
      for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
      if (name == "opus") return rm;
    } else {
      const codec::VideoCodec c = codec::video_codec_from_name(rm.encoding);
      if (c == codec::VideoCodec::kVP8 || c == codec::VideoCodec::kH264) return rm;
    }
  }
  return std::nullopt;
}

uint64_t ntp_now() {
  const auto since_unix = std::chrono::system_clock::now().time_since_epoch();
  const uint64_t us =
      uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(since_unix).count());
  const uint64_t sec = us / 1000000 + 2208988800ull;  // 1900 -> 1970
  const uint64_t frac = ((us % 1000000) << 32) / 1000000;
  return sec << 32 | frac;
}

}  // namespace

LoadPeer::LoadPeer(size_t index, Role role, std::string stream, PeerContext& ctx)
    : index_(index),
      role_(role),
      stream_(std::move(stream)),
      ctx_(ctx),
      ufrag_(random_ice_chars(8)),
      pwd_(random_ice_chars(24)) {
  if (role_ == Role::kPublisher) {
    video_ssrc_ = random_u32() | 1;
    audio_ssrc_ = random_u32() | 1;
    if (audio_ssrc_ == video_ssrc_) audio_ssrc_ += 2;
  }
}

LoadPeer::~LoadPeer() {
  if (fd_ >= 0) ::close(fd_);
  if (audio_fd_ >= 0) ::close(audio_fd_);
}

std::string LoadPeer::offer() const {
  const bool pub = role_ == Role::kPublisher;
  const std::string dir = pub ? "sendonly" : "recvonly";
  const std::string msid = "lss-load-" + std::to_string(index_);
  std::string s =
      "v=0\r\no=- " + std::to_string(random_u32()) +
      " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n";
  auto transport = [&](const std::string& mid) {
    return "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:" + ufrag_ +
           "\r\na=ice-pwd:" + pwd_ + "\r\na=ice-options:trickle\r\na=fingerprint:sha-256 " +
           ctx_.cert->fingerprint_sha256() + "\r\na=setup:actpass\r\na=mid:" + mid +
           "\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=extmap:" +
           std::to_string(kAbsSendTimeId) +
           " http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\na=" + dir +
           "\r\na=rtcp-mux\r\na=rtcp-rsize\r\n";
  };
  auto ssrc_lines = [&](uint32_t ssrc, const std::string& track) {
    const std::string ss = "a=ssrc:" + std::to_string(ssrc);
    return "a=msid:" + msid + " " + track + "\r\n" + ss + " cname:" + msid + "\r\n" + ss +
           " msid:" + msid + " " + track + "\r\n";
  };
  s += "m=audio 9 UDP/TLS/RTP/SAVPF " + std::to_string(kAudioPt) + "\r\n" + transport("0") +
       "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
       "a=fmtp:111 minptime=10;useinbandfec=1\r\n";
  if (pub) s += ssrc_lines(audio_ssrc_, "audio");
  auto video_format = [](uint8_t pt, bool h264) {
    const std::string p = std::to_string(pt);
    std::string f = "a=rtpmap:" + p + (h264 ? " H264/90000\r\n" : " VP8/90000\r\n");
    if (h264)
      f += "a=fmtp:" + p +
           " level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n";
    return f + "a=rtcp-fb:" + p + " goog-remb\r\na=rtcp-fb:" + p + " ccm fir\r\na=rtcp-fb:" + p +
           " nack\r\na=rtcp-fb:" + p + " nack pli\r\n";
  };
  // A publisher offers its clip's codec; a viewer both, as a browser would,
  // and the server answers with the stream's.
  if (pub) {
    const bool h264 = publisher_video_pt() == kH264Pt;
    s += "m=video 9 UDP/TLS/RTP/SAVPF " + std::to_string(publisher_video_pt()) + "\r\n" +
         transport("1") + video_format(publisher_video_pt(), h264);
  } else {
    s += "m=video 9 UDP/TLS/RTP/SAVPF " + std::to_string(kVideoPt) + " " + std::to_string(kH264Pt) +
         "\r\n" + transport("1") + video_format(kVideoPt, false) + video_format(kH264Pt, true);
  }
  if (pub) s += ssrc_lines(video_ssrc_, "video");
  return s;
}

Result<sdp::Fingerprint> LoadPeer::read_remote(const sdp::SessionDescription& sd) {
  const sdp::MediaSection* first = nullptr;
  for (const auto& m : sd.media)
    if (m.port != 0) {
      first = &m;
      break;
    }
  if (!first) return make_error("the remote description accepts no media section");
  remote_ufrag_ = sd.transport_attribute(*first, "ice-ufrag").value_or("");
  remote_pwd_ = sd.transport_attribute(*first, "ice-pwd").value_or("");
  if (remote_ufrag_.empty() || remote_pwd_.empty())
    return make_error("remote description without ICE credentials");
  auto fp = sd.fingerprint(*first);
  if (!fp) return make_error("remote description without a=fingerprint");

  // Host candidates: "<foundation> 1 udp <prio> <ip> <port> typ host".
  std::optional<SocketAddress> chosen, first_v4, any;
  for (const auto& m : sd.media) {
    for (const auto& c : m.attribute_values("candidate")) {
      auto parts = split_spaces(c);
      if (parts.size() < 8 || parts[1] != "1") continue;
      if (parts[2] != "udp" && parts[2] != "UDP") continue;
      uint16_t port = 0;
      auto [p, ec] = std::from_chars(parts[5].data(), parts[5].data() + parts[5].size(), port);
      if (ec != std::errc() || port == 0) continue;
      auto addr = SocketAddress::parse(parts[4], port);
      if (!addr) continue;
      if (!any) any = addr;
      if (addr->is_ipv4() && !first_v4) first_v4 = addr;
      if (!chosen && parts[4] == ctx_.url_host) chosen = addr;
    }
  }
  if (!chosen) chosen = first_v4 ? first_v4 : any;
  if (!chosen) return make_error("remote description without a usable UDP candidate");
  if (!ctx_.media_host.empty()) {
    auto forced = SocketAddress::parse(ctx_.media_host, chosen->port);
    if (!forced) return make_error("--media-host is not an IP address");
    chosen = forced;
  }
  server_ = *chosen;
  return *fp;
}

Status LoadPeer::open_socket() {
  fd_ = ::socket(server_.is_ipv4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 0);
  if (fd_ < 0) return make_error(std::string("socket: ") + std::strerror(errno));
  // Viewers take bursts (a keyframe is dozens of packets) while the thread
  // serves other sockets; ask for room (capped by net.core.rmem_max).
  const int rcvbuf = 1 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(server_, ss);
  // connect(): the kernel filters other senders and send() needs no address.
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return make_error("connect " + server_.to_string() + ": " + std::strerror(errno));
  return {};
}

Status LoadPeer::on_answer(const std::string& answer, Timestamp now) {
  answered_at = now;
  auto sd = sdp::parse_sdp(answer);
  if (!sd.ok()) return make_error("bad answer SDP: " + sd.error().message);
  auto fp = read_remote(*sd);
  if (!fp.ok()) return fp.error();
  // The payload types the server's RTP will carry: for video VP8's or
  // H264's, whichever the stream has.
  for (const auto& m : sd->media) {
    if (m.port == 0) continue;
    if (auto rm = accepted_codec(m)) {
      (m.media == "audio" ? audio_pt_ : video_pt_) = rm->payload_type;
      if (m.media == "video") video_codec = rm->encoding;
    }
  }
  for (const auto& m : sd->media) {
    if (m.port == 0) continue;
    const std::string setup = sd->transport_attribute(m, "setup").value_or("");
    if (setup != "passive") return make_error("answer has a=setup:" + setup + ", expected passive");
    break;
  }
  dtls_ = std::make_unique<DtlsTransport>(ctx_.cert, DtlsTransport::Role::kClient, fp->algorithm,
                                          fp->value);
  if (dtls_->state() == DtlsTransport::State::kFailed) return make_error(dtls_->error());
  Status st = open_socket();
  if (!st.ok()) return st;
  state_ = State::kIce;
  send_check(now);
  return {};
}

Result<std::string> LoadPeer::on_offer(const std::string& offer, Timestamp now) {
  answered_at = now;
  auto sd = sdp::parse_sdp(offer);
  if (!sd.ok()) return make_error("bad offer SDP: " + sd.error().message);
  auto fp = read_remote(*sd);
  if (!fp.ok()) return fp.error();
  // RFC 8445 6.1.1: the offerer controls unless it is ICE-lite.
  bool lite = sd->attribute("ice-lite").has_value();
  for (const auto& m : sd->media) lite |= m.has_attribute("ice-lite");
  controlling_ = lite;

  // Accept the first audio (Opus) and video (VP8 or H264) sections, reject
  // the rest.
  struct Accepted {
    const sdp::MediaSection* m;
    sdp::RtpMap codec;
  };
  std::vector<std::optional<Accepted>> plan;
  bool have_audio = false, have_video = false;
  for (const auto& m : sd->media) {
    std::optional<Accepted> a;
    const bool audio = m.media == "audio", video = m.media == "video";
    if (m.port != 0 && ((audio && !have_audio) || (video && !have_video))) {
      if (auto rm = accepted_codec(m)) a = Accepted{&m, *rm};
    }
    if (a) {
      (audio ? have_audio : have_video) = true;
      (audio ? audio_pt_ : video_pt_) = a->codec.payload_type;
      if (video) video_codec = a->codec.encoding;
      for (const auto& e : m.extmaps())
        if (e.uri == "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")
          abs_send_time_id_ = e.id;
    }
    plan.push_back(a);
  }
  if (!have_audio && !have_video) return make_error("the offer has no Opus, VP8 or H264 section");
  bool offered_abs = false;
  for (const auto& a : plan)
    if (a)
      for (const auto& e : a->m->extmaps())
        offered_abs |= e.uri == "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
  if (!offered_abs) abs_send_time_id_ = 0;

  for (const auto& m : sd->media) {
    if (m.port == 0) continue;
    const std::string setup = sd->transport_attribute(m, "setup").value_or("actpass");
    if (setup == "active")
      return make_error("offer has a=setup:active; lss-load is a DTLS client only");
    break;
  }
  dtls_ = std::make_unique<DtlsTransport>(ctx_.cert, DtlsTransport::Role::kClient, fp->algorithm,
                                          fp->value);
  if (dtls_->state() == DtlsTransport::State::kFailed) return make_error(dtls_->error());
  Status st = open_socket();
  if (!st.ok()) return make_error(st.message());
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &local_len) != 0)
    return make_error(std::string("getsockname: ") + std::strerror(errno));
  char ip[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (local.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&local);
    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
    port = ntohs(sin->sin_port);
  } else {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&local);
    inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
    port = ntohs(sin6->sin6_port);
  }

  std::string mids;
  for (const auto& a : plan)
    if (a) mids += " " + a->m->mid();
  std::string s =
      "v=0\r\no=- " + std::to_string(random_u32()) + " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  if (!mids.empty()) s += "a=group:BUNDLE" + mids + "\r\n";
  s += "a=msid-semantic: WMS\r\n";
  for (size_t i = 0; i < sd->media.size(); ++i) {
    const auto& m = sd->media[i];
    const auto& a = plan[i];
    if (!a) {
      std::string fmts;
      for (const auto& f : m.formats) fmts += " " + f;
      s += "m=" + m.media + " 0 " + m.proto + fmts + "\r\nc=IN IP4 0.0.0.0\r\n";
      if (!m.mid().empty()) s += "a=mid:" + m.mid() + "\r\n";
      continue;
    }
    const std::string pt = std::to_string(a->codec.payload_type);
    s += "m=" + m.media + " 9 UDP/TLS/RTP/SAVPF " + pt + "\r\nc=IN IP4 0.0.0.0\r\n";
    s += "a=rtcp:9 IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2130706431 " + std::string(ip) + " " +
         std::to_string(port) + " typ host\r\na=end-of-candidates\r\n";
    s += "a=ice-ufrag:" + ufrag_ + "\r\na=ice-pwd:" + pwd_ + "\r\na=fingerprint:sha-256 " +
         ctx_.cert->fingerprint_sha256() + "\r\na=setup:active\r\na=mid:" + a->m->mid() + "\r\n";
    for (const auto& e : a->m->extmaps())
      if (e.uri == "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time" ||
          e.uri == "urn:ietf:params:rtp-hdrext:sdes:mid")
        s += "a=extmap:" + std::to_string(e.id) + " " + e.uri + "\r\n";
    s += "a=recvonly\r\na=rtcp-mux\r\na=rtpmap:" + pt + " " + a->codec.encoding + "/" +
         std::to_string(a->codec.clock_rate) +
         (a->codec.channels ? "/" + std::to_string(a->codec.channels) : "") + "\r\n";
    const std::string fmtp = a->m->fmtp(a->codec.payload_type);
    if (!fmtp.empty()) s += "a=fmtp:" + pt + " " + fmtp + "\r\n";
  }
  state_ = State::kIce;
  send_check(now);
  return s;
}

Status LoadPeer::start_plain_rtp(const SocketAddress& video, const SocketAddress& audio,
                                 Timestamp now) {
  plain_rtp_ = true;
  for (const auto* dst : {&video, &audio}) {
    const int fd =
        ::socket(dst->is_ipv4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(std::string("socket: ") + std::strerror(errno));
    (dst == &video ? fd_ : audio_fd_) = fd;
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(*dst, ss);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0)
      return make_error("connect " + dst->to_string() + ": " + std::strerror(errno));
  }
  answered_at = connected_at = now;
  state_ = State::kConnected;
  start_sender(now);
  return {};
}

void LoadPeer::start_sender(Timestamp now) {
  SenderConfig sc;
  sc.video_ssrc = video_ssrc_;
  sc.audio_ssrc = audio_ssrc_;
  sc.video_pt = publisher_video_pt();
  sc.audio_pt = kAudioPt;
  sc.abs_send_time_id = kAbsSendTimeId;
  sender = std::make_unique<MediaSender>(*ctx_.clip, sc);
  tick(now);
}

void LoadPeer::send_datagram(const uint8_t* data, size_t len) {
  if (fd_ < 0) return;
  if (::send(fd_, data, len, 0) < 0) ++send_errors;
}

void LoadPeer::send_check(Timestamp now) {
  TransactionId txid;
  const uint64_t a = random_u64();
  const uint32_t b = random_u32();
  std::memcpy(txid.data(), &a, 8);
  std::memcpy(txid.data() + 8, &b, 4);
  StunBuilder builder(stun::kBindingRequest, txid);
  builder.add_string(stun::kAttrUsername, remote_ufrag_ + ":" + ufrag_)
      .add_u32(stun::kAttrPriority, 0x6e7f1eff);
  if (controlling_) {
    builder.add_u64(stun::kAttrIceControlling, random_u64()).add_flag(stun::kAttrUseCandidate);
  } else {
    builder.add_u64(stun::kAttrIceControlled, random_u64());
  }
  Bytes req = builder.finish(remote_pwd_, true);
  send_datagram(req.data(), req.size());
  ++checks_sent_;
  // Checks until the first answer: 50 ms apart, then RFC 7675 consent every 4 s
  // (the server drops a peer after 15 s without one).
  next_check_ = now + (state_ == State::kIce ? milliseconds(checks_sent_ < 5 ? 50 : 200)
                                             : milliseconds(4000));
}

void LoadPeer::answer_check(const StunMessage& request) {
  Bytes res = StunBuilder(stun::kBindingSuccess, request.transaction_id())
                  .add_xor_mapped_address(server_)
                  .finish(pwd_, true);
  send_datagram(res.data(), res.size());
}

void LoadPeer::on_ice_success(Timestamp now) {
  if (state_ != State::kIce) return;
  state_ = State::kDtls;
  next_check_ = now + milliseconds(4000);
  dtls_->start(now);
  flush_dtls();
}

void LoadPeer::flush_dtls() {
  if (!dtls_) return;
  for (auto& out : dtls_->take_outgoing()) send_datagram(out.data(), out.size());
}

void LoadPeer::fail(std::string why) {
  if (state_ == State::kFailed) return;
  if (error_.empty()) error_ = std::move(why);
  state_ = State::kFailed;
}

void LoadPeer::stop() {
  state_at_stop_ = state_;
  if (state_ != State::kFailed) state_ = State::kClosed;
}

void LoadPeer::release() {
  if (fd_ >= 0) ::close(fd_);
  if (audio_fd_ >= 0) ::close(audio_fd_);
  fd_ = audio_fd_ = -1;
  dtls_.reset();
  srtp_in_.reset();
  srtp_out_.reset();
}

void LoadPeer::on_readable(Timestamp now) {
  if (fd_ < 0) return;
  for (int round = 0; round < 8; ++round) {
    const int n = recvmmsg(fd_, g_batch.msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      // ECONNREFUSED: an ICMP port-unreachable came back; the server is gone.
      if (n < 0 && errno == ECONNREFUSED && state_ != State::kClosed)
        fail("server port unreachable");
      return;
    }
    for (int i = 0; i < n; ++i) handle(g_batch.bufs[i], g_batch.msgs[i].msg_len, now);
    if (size_t(n) < kBatch) return;
  }
}

void LoadPeer::handle(uint8_t* data, size_t len, Timestamp now) {
  if (len == 0 || state_ == State::kClosed || state_ == State::kFailed) return;
  ++datagrams_in;
  const uint8_t b = data[0];
  if (b <= 3) {
    auto m = StunMessage::parse(ByteSpan(data, len));
    if (!m.ok()) return;
    if (m->type() == stun::kBindingRequest) {
      // The remote agent's own checks (a full-ICE offerer such as Janus):
      // answer them, and take its nomination as the end of ICE.
      if (!m->verify_message_integrity(pwd_)) return;
      const auto user = m->username();
      if (!user || !user->starts_with(ufrag_ + ":")) return;
      answer_check(*m);
      if (!controlling_ && m->has_use_candidate()) {
        nominated_ = true;
        if (ice_ok_at_ && !dtls_due_) dtls_due_ = now + kDtlsDelay;
      }
      return;
    }
    if (m->type() != stun::kBindingSuccess || !m->verify_message_integrity(remote_pwd_)) return;
    last_check_ok_ = now;
    if (state_ == State::kIce) {
      if (!ice_ok_at_) ice_ok_at_ = now;
      if (controlling_) {
        on_ice_success(now);
      } else if (nominated_ && !dtls_due_) {
        dtls_due_ = now + kDtlsDelay;
      }
    }
  } else if (b >= 20 && b <= 63) {
    if (!dtls_) return;
    dtls_->handle_datagram(ByteSpan(data, len), now);
    flush_dtls();
    const auto ds = dtls_->state();
    if (ds == DtlsTransport::State::kFailed) return fail("DTLS: " + dtls_->error());
    if (ds == DtlsTransport::State::kClosed) {
      // close_notify: the server ended this session (e.g. the publisher left).
      if (state_ == State::kConnected) state_ = State::kClosed;
      return;
    }
    if (ds == DtlsTransport::State::kConnected && !srtp_out_) {
      const auto& keys = *dtls_->srtp_keys();
      auto out =
          SrtpSession::create(keys.profile, keys.local_master, SrtpSession::Direction::kOutbound);
      auto in =
          SrtpSession::create(keys.profile, keys.remote_master, SrtpSession::Direction::kInbound);
      if (!out.ok() || !in.ok()) return fail("SRTP session setup failed");
      srtp_out_ = std::move(out).value();
      srtp_in_ = std::move(in).value();
      srtp_profile = keys.profile;
      state_ = State::kConnected;
      connected_at = now;
      if (role_ == Role::kPublisher) {
        next_sr_ = now + milliseconds(1000);
        start_sender(now);
      }
    }
  } else if (b >= 128 && b <= 191 && srtp_in_ && len >= 12) {
    if (is_rtcp(ByteSpan(data, len))) {
      handle_rtcp(data, len, now);
    } else {
      handle_rtp(data, len, now);
    }
  }
}

void LoadPeer::handle_rtp(uint8_t* data, size_t len, Timestamp now) {
  // The RTP header and its extensions are not encrypted (RFC 3711), so
  // counting, loss, jitter and latency need no SRTP work.
  const uint8_t pt = data[1] & 0x7f;
  const uint16_t seq = load_be16(data + 2);
  const uint32_t ts = load_be32(data + 4);
  const uint32_t ssrc = load_be32(data + 8);
  const bool video = pt == video_pt_;
  TrackReceive& rx = video ? video_rx : audio_rx;
  const int64_t arrival_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now - ctx_.epoch).count();
  rx.on_packet(ssrc, seq, ts, uint32_t(arrival_us * int64_t(rx.clock_rate) / 1000000), len);
  if (!first_rtp_at) first_rtp_at = now;
  auto& first_kind = video ? first_video_at : first_audio_at;
  if (!first_kind) first_kind = now;

  RtpPacket pkt;
  if (RtpPacket::parse(data, len, pkt)) {
    ByteSpan ext = abs_send_time_id_ ? pkt.find_extension(abs_send_time_id_) : ByteSpan();
    if (ext.size() == 3) {
      const int64_t age = abs_send_time_age_us(load_be24(ext.data()), now);
      ctx_.latency_us.add(age);
      if (video && role_ == Role::kViewer) {
        if (auto done =
                video_frames.on_packet(ts, seq, pkt.marker(), arrival_us, arrival_us - age)) {
          ctx_.frame_completion_us.add(*done);
          ctx_.frame_completion_by_position[ctx_.position_group(index_)].add(*done);
        }
      }
    }
  }
  if (++rtp_seen_ % uint64_t(ctx_.srtp_sample) == 0) {
    // Authenticate and decrypt a sample: proves the keys and the server's
    // SRTP are right without paying for every packet.
    size_t n = len;
    ++srtp_checked;
    if (!srtp_in_->unprotect_rtp(data, n).ok()) ++srtp_failed;
  }
}

void LoadPeer::handle_rtcp(uint8_t* data, size_t len, Timestamp now) {
  size_t n = len;
  ++srtp_checked;
  if (!srtp_in_->unprotect_rtcp(data, n).ok()) {
    ++srtp_failed;
    return;
  }
  ++rtcp_in;
  if (role_ != Role::kPublisher || !sender) return;
  for_each_rtcp(ByteSpan(data, n), [&](const RtcpPacket& p) {
    if (std::holds_alternative<Pli>(p) || std::holds_alternative<Fir>(p)) {
      ++rtcp_pli_in;
      sender->request_keyframe(now);
    } else if (std::holds_alternative<Nack>(p)) {
      ++rtcp_nack_in;  // loopback loses nothing worth resending; counted only
    }
  });
}

void LoadPeer::send_sender_reports(Timestamp now) {
  // Sender reports let the server (and its recorder) map RTP time to wall
  // time, as a browser's would.
  Bytes buf;
  const uint64_t ntp = ntp_now();
  SenderReport v{video_ssrc_,
                 ntp,
                 sender->rtp_time(true, now),
                 uint32_t(sender->video_packets),
                 uint32_t(sender->video_bytes),
                 {}};
  SenderReport a{audio_ssrc_,
                 ntp,
                 sender->rtp_time(false, now),
                 uint32_t(sender->audio_packets),
                 uint32_t(sender->audio_bytes),
                 {}};
  for (const auto* sr : {&v, &a}) {
    buf.clear();
    build_sender_report(*sr, buf);
    size_t len = buf.size();
    buf.resize(len + SrtpSession::kMaxTrailer);
    if (srtp_out_->protect_rtcp(buf.data(), len, buf.size()).ok()) send_datagram(buf.data(), len);
  }
}

void LoadPeer::send_remb() {
  // As a receiver without transport-cc tells its estimate (draft-alvestrand-
  // rmcat-remb): the server then has one for this viewer (and paces it with
  // PACING=true).
  Bytes buf;
  build_remb(Remb{uint32_t(index_ + 1), ctx_.remb_bps, {}}, buf);
  size_t len = buf.size();
  buf.resize(len + SrtpSession::kMaxTrailer);
  if (srtp_out_->protect_rtcp(buf.data(), len, buf.size()).ok()) send_datagram(buf.data(), len);
}

void LoadPeer::tick(Timestamp now) {
  switch (state_) {
    case State::kIce:
    case State::kDtls:
      if (now - requested_at > ctx_.connect_timeout) {
        return fail(state_ == State::kIce ? "ICE: no answer to connectivity checks"
                                          : "DTLS handshake timed out");
      }
      if (now >= next_check_) send_check(now);
      // Controlled: nominated (or, failing that, our check went through a
      // while ago).
      if (state_ == State::kIce && ((dtls_due_ && now >= *dtls_due_) ||
                                    (ice_ok_at_ && now - *ice_ok_at_ > milliseconds(300))))
        on_ice_success(now);
      if (state_ == State::kDtls) {
        auto t = dtls_->next_timeout(now);
        if (t && *t <= now) {
          dtls_->handle_timeout(now);
          flush_dtls();
          if (dtls_->state() == DtlsTransport::State::kFailed) fail("DTLS: " + dtls_->error());
        }
      }
      return;
    case State::kConnected:
      if (plain_rtp_) {
        sender->poll(now, [&](uint8_t* data, size_t len, bool video) {
          if (::send(video ? fd_ : audio_fd_, data, len, 0) < 0) ++send_errors;
        });
        return;
      }
      if (now >= next_check_) send_check(now);
      if (role_ == Role::kViewer && ctx_.remb_bps && srtp_out_ && now >= next_remb_) {
        next_remb_ = now + milliseconds(1000);
        send_remb();
      }
      if (sender) {
        sender->poll(now, [&](uint8_t* data, size_t len, bool) {
          if (srtp_out_->protect_rtp(data, len, MediaSender::kBufferSize).ok())
            send_datagram(data, len);
        });
        if (now >= next_sr_) {
          next_sr_ = now + milliseconds(1000);
          send_sender_reports(now);
        }
      }
      return;
    default:
      return;
  }
}

}  // namespace lss::load
