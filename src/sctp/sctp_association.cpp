#include "sctp/sctp_association.hpp"

#include <arpa/inet.h>
#include <usrsctp.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace lss::sctp {
namespace {

// RFC 8261 §5: without path MTU discovery, SCTP packets must stay small
// enough that DTLS (37 bytes of record overhead with AES-GCM) + UDP + IPv6
// still fit the 1280-byte IPv6 minimum path MTU: 1195 bytes. For AF_CONN,
// usrsctp's path MTU is the room for chunks, without the 12-byte common
// header.
constexpr uint32_t kSctpMtu = 1280 - 40 - 8 - 37 - 12;
// Streams we offer and accept (SCTP_INITMSG); browsers negotiate down to
// what both sides allow.
constexpr uint16_t kNumStreams = 1024;
// usrsctp's socket buffers. The receive buffer is also the window we
// advertise, so it must exceed kMaxMessageSize.
constexpr int kSocketBufferSize = 1024 * 1024;
// What send() accepts beyond usrsctp's own buffer before it refuses.
constexpr size_t kMaxQueuedBytes = 4 * 1024 * 1024;
// SCTP packets ride in one DTLS record (at most 16 KiB of plaintext); a bigger
// "packet" is garbage.
constexpr size_t kMaxPacketSize = 65536;
constexpr size_t kMaxEarlyPackets = 16;
constexpr size_t kMaxNotificationSize = 65536;
constexpr uint16_t kReservedStream = 65535;  // RFC 8832 §6

// usrsctp is one global stack; this is the state we keep next to it.
struct Global {
  // Guards `outboxes` and every association's outbox_: conn_output may run
  // for association B inside association A's call, possibly on A's thread.
  std::mutex mu;
  std::unordered_map<uintptr_t, std::deque<Bytes>*> outboxes;
  std::atomic<uintptr_t> next_cookie{1};

  // Serialises usrsctp_handle_timers: its timer walk keeps global cursors
  // that assume a single caller (usrsctp normally runs it on one thread).
  std::mutex tick_mu;
  bool have_last_tick = false;
  Timestamp last_tick;
  std::atomic<bool> initialised{false};
};

Global& global() {
  // Never destroyed: usrsctp is never torn down and may call conn_output
  // (from a timer) as late as the last tick().
  static Global* g = new Global;
  return *g;
}

void* cookie_ptr(uintptr_t cookie) {
  return reinterpret_cast<void*>(cookie);
}

// usrsctp's one output hook: `addr` is the sconn_addr of the association the
// packet belongs to. Packets are queued, never sent from here, because
// usrsctp may hold its locks and may be inside another association's call.
int conn_output(void* addr, void* buffer, size_t length, uint8_t /*tos*/, uint8_t /*set_df*/) {
  Global& g = global();
  std::lock_guard lock(g.mu);
  auto it = g.outboxes.find(reinterpret_cast<uintptr_t>(addr));
  if (it == g.outboxes.end()) return -1;  // destroyed: drop
  const auto* p = static_cast<const uint8_t*>(buffer);
  it->second->emplace_back(p, p + length);
  return 0;
}

void init_usrsctp() {
  static std::once_flag once;
  std::call_once(once, [] {
    // No threads: timers advance only through usrsctp_handle_timers (tick),
    // and every callback runs inside one of our usrsctp_* calls. UDP
    // encapsulation port 0: we only use AF_CONN.
    usrsctp_init_nothreads(0, conn_output, nullptr);
    // These are process-wide defaults for every association created later.
    usrsctp_sysctl_set_sctp_ecn_enable(0);  // no ECN signalling through DTLS
    usrsctp_sysctl_set_sctp_pr_enable(1);   // partial reliability (RFC 3758)
    // Notice a dead peer in tens of seconds, not minutes (defaults: 10
    // retransmissions with RTO up to 60 s).
    usrsctp_sysctl_set_sctp_init_rtx_max_default(5);
    usrsctp_sysctl_set_sctp_path_rtx_max_default(5);
    usrsctp_sysctl_set_sctp_assoc_rtx_max_default(5);
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_rto_min_default(1000);
    usrsctp_sysctl_set_sctp_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_heartbeat_interval_default(10000);
    // Acknowledge sooner than the 200 ms default: senders wait on SACKs.
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    // A max-size message is ~220 chunks; leave room for several in flight.
    usrsctp_sysctl_set_sctp_max_chunks_on_queue(10 * 1024);
    global().initialised = true;
  });
}

void advance_timers(Timestamp now) {
  Global& g = global();
  if (!g.initialised) return;
  std::lock_guard lock(g.tick_mu);
  if (!g.have_last_tick || now < g.last_tick) {
    // First tick, or a caller with a different clock (tests): start over
    // rather than jump.
    g.have_last_tick = true;
    g.last_tick = now;
    return;
  }
  const auto elapsed = std::chrono::duration_cast<milliseconds>(now - g.last_tick);
  if (elapsed.count() <= 0) return;
  // Advance by whole milliseconds only, so sub-millisecond remainders add up
  // across frequent ticks from many associations.
  g.last_tick += elapsed;
  const auto ms = std::min<int64_t>(elapsed.count(), int64_t(1) << 30);
  usrsctp_handle_timers(uint32_t(ms));
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

template <typename T>
Status set_option(struct socket* sock, int level, int name, const T& value, const char* what) {
  if (usrsctp_setsockopt(sock, level, name, &value, socklen_t(sizeof(value))) != 0) {
    return make_error(errno_text(what));
  }
  return Status::Ok();
}

sockaddr_conn conn_address(uintptr_t cookie, uint16_t port) {
  sockaddr_conn a{};
  a.sconn_family = AF_CONN;
  a.sconn_port = htons(port);
  a.sconn_addr = cookie_ptr(cookie);
  return a;
}

ChannelType channel_type_for(const ChannelOptions& o) {
  const uint8_t unordered = o.ordered ? 0x00 : 0x80;
  if (o.max_retransmits) return ChannelType(0x01 | unordered);
  if (o.max_packet_lifetime_ms) return ChannelType(0x02 | unordered);
  return ChannelType(unordered);
}

}  // namespace

SctpAssociation::SctpAssociation(uint16_t local_port, uint16_t remote_port, bool dtls_client,
                                 Callbacks cb)
    : local_port_(local_port),
      remote_port_(remote_port),
      dtls_client_(dtls_client),
      callbacks_(std::make_shared<const Callbacks>(std::move(cb))),
      cookie_(global().next_cookie.fetch_add(1)) {
  Global& g = global();
  std::lock_guard lock(g.mu);
  g.outboxes.emplace(cookie_, &outbox_);
}

SctpAssociation::~SctpAssociation() {
  *alive_ = false;
  {
    // From here on conn_output drops our packets, so the ABORT usrsctp_close
    // sends (SO_LINGER 0) goes nowhere: no callbacks after destruction. Call
    // close() first for a SHUTDOWN the peer sees.
    Global& g = global();
    std::lock_guard lock(g.mu);
    g.outboxes.erase(cookie_);
  }
  teardown_socket();
}

void SctpAssociation::teardown_socket() {
  if (sock_ != nullptr) {
    usrsctp_close(sock_);
    sock_ = nullptr;
  }
  if (address_registered_) {
    usrsctp_deregister_address(cookie_ptr(cookie_));
    address_registered_ = false;
  }
}

Status SctpAssociation::start() {
  if (started_) return make_error("sctp: already started");
  if (closed_) return make_error("sctp: association closed");
  init_usrsctp();
  usrsctp_register_address(cookie_ptr(cookie_));
  address_registered_ = true;

  // Without a receive callback usrsctp keeps what arrives in the socket
  // buffer until we read it with usrsctp_recvv (in process()), so nothing of
  // ours runs inside usrsctp and the advertised window reflects what we have
  // actually consumed.
  sock_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
  if (sock_ == nullptr) {
    const Status s = make_error(errno_text("sctp: usrsctp_socket"));
    teardown_socket();
    return s;
  }
  auto fail = [&](Status s) {
    teardown_socket();
    return s;
  };
  if (usrsctp_set_non_blocking(sock_, 1) != 0) {
    return fail(make_error(errno_text("sctp: non-blocking")));
  }
  // Closing the socket aborts at once: it only happens when the association
  // object goes away, and DTLS underneath is usually going away too.
  linger lg{};
  lg.l_onoff = 1;
  lg.l_linger = 0;
  if (auto s = set_option(sock_, SOL_SOCKET, SO_LINGER, lg, "sctp: SO_LINGER"); !s) return fail(s);

  sctp_assoc_value reset{};
  reset.assoc_id = SCTP_ALL_ASSOC;
  reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;  // data channels close by stream reset
  if (auto s = set_option(sock_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset,
                          "sctp: SCTP_ENABLE_STREAM_RESET");
      !s) {
    return fail(s);
  }
  const int on = 1;
  // Stream id and PPID of every message come with usrsctp_recvv.
  if (auto s = set_option(sock_, IPPROTO_SCTP, SCTP_RECVRCVINFO, on, "sctp: SCTP_RECVRCVINFO");
      !s) {
    return fail(s);
  }
  // RFC 8831 §6.6: no Nagle, data channels carry latency-sensitive messages.
  if (auto s = set_option(sock_, IPPROTO_SCTP, SCTP_NODELAY, on, "sctp: SCTP_NODELAY"); !s) {
    return fail(s);
  }
  // Deliver one message at a time, never pieces of messages from different
  // streams interleaved (RFC 6458 §8.1.20), so one reassembly buffer suffices.
  const int interleave = 0;
  if (auto s = set_option(sock_, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, interleave,
                          "sctp: SCTP_FRAGMENT_INTERLEAVE");
      !s) {
    return fail(s);
  }
  for (uint16_t type : {uint16_t(SCTP_ASSOC_CHANGE), uint16_t(SCTP_STREAM_RESET_EVENT),
                        uint16_t(SCTP_SEND_FAILED_EVENT), uint16_t(SCTP_SENDER_DRY_EVENT)}) {
    sctp_event ev{};
    ev.se_assoc_id = SCTP_ALL_ASSOC;
    ev.se_type = type;
    ev.se_on = 1;
    if (auto s = set_option(sock_, IPPROTO_SCTP, SCTP_EVENT, ev, "sctp: SCTP_EVENT"); !s) {
      return fail(s);
    }
  }
  sctp_initmsg init{};
  init.sinit_num_ostreams = kNumStreams;
  init.sinit_max_instreams = kNumStreams;
  if (auto s = set_option(sock_, IPPROTO_SCTP, SCTP_INITMSG, init, "sctp: SCTP_INITMSG"); !s) {
    return fail(s);
  }
  // usrsctp does not do packetization-layer PMTUD (RFC 4821), so use a fixed
  // safe MTU (RFC 8261 §5) for the association we are about to create.
  sctp_paddrparams paddr{};
  paddr.spp_assoc_id = SCTP_FUTURE_ASSOC;
  paddr.spp_flags = SPP_PMTUD_DISABLE | SPP_HB_ENABLE;
  paddr.spp_pathmtu = kSctpMtu;
  if (auto s = set_option(sock_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, paddr,
                          "sctp: SCTP_PEER_ADDR_PARAMS");
      !s) {
    return fail(s);
  }
  if (auto s = set_option(sock_, SOL_SOCKET, SO_RCVBUF, kSocketBufferSize, "sctp: SO_RCVBUF"); !s) {
    return fail(s);
  }
  if (auto s = set_option(sock_, SOL_SOCKET, SO_SNDBUF, kSocketBufferSize, "sctp: SO_SNDBUF"); !s) {
    return fail(s);
  }

  // Both ends use the same AF_CONN "address" (our cookie): it only tells
  // usrsctp which association a packet belongs to; the ports are the
  // a=sctp-port values.
  sockaddr_conn local = conn_address(cookie_, local_port_);
  if (usrsctp_bind(sock_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    return fail(make_error(errno_text("sctp: bind")));
  }
  sockaddr_conn remote = conn_address(cookie_, remote_port_);
  if (usrsctp_connect(sock_, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0 &&
      errno != EINPROGRESS) {
    return fail(make_error(errno_text("sctp: connect")));
  }
  started_ = true;

  // Our INIT is out (queued in outbox_); what the peer sent meanwhile can go
  // in now without usrsctp answering it as out-of-the-blue.
  std::deque<Bytes> early;
  early.swap(early_packets_);
  for (const Bytes& p : early) usrsctp_conninput(cookie_ptr(cookie_), p.data(), p.size(), 0);
  process();
  return Status::Ok();
}

void SctpAssociation::handle_packet(ByteSpan packet) {
  if (packet.empty() || packet.size() > kMaxPacketSize) return;
  if (!started_) {
    if (!closed_ && early_packets_.size() < kMaxEarlyPackets) {
      early_packets_.emplace_back(packet.begin(), packet.end());
    }
    return;
  }
  if (sock_ == nullptr) return;
  // usrsctp copies the packet and verifies its CRC32c; anything malformed is
  // dropped (or answered with an ABORT, as SCTP requires) inside.
  usrsctp_conninput(cookie_ptr(cookie_), packet.data(), packet.size(), 0);
  process();
}

Result<uint16_t> SctpAssociation::open_channel(const std::string& label,
                                               const std::string& protocol,
                                               const ChannelOptions& options) {
  if (closed_ || shutting_down_) return make_error("sctp: association closed");
  if (options.max_retransmits && options.max_packet_lifetime_ms) {
    return make_error("sctp: max_retransmits and max_packet_lifetime_ms are exclusive");
  }
  const uint32_t limit = std::min<uint32_t>(max_outbound_streams_, kReservedStream);
  std::optional<uint16_t> sid;
  for (uint32_t id = dtls_client_ ? 0 : 1; id < limit; id += 2) {
    const auto s = uint16_t(id);
    if (!channels_.contains(s) && !pending_resets_.contains(s) && !resetting_.contains(s)) {
      sid = s;
      break;
    }
  }
  if (!sid) return make_error("sctp: no free stream for a new channel");

  DataChannelOpen open;
  open.channel_type = channel_type_for(options);
  open.priority = options.priority;
  open.reliability_parameter =
      options.max_retransmits.value_or(options.max_packet_lifetime_ms.value_or(0));
  open.label = label;
  open.protocol = protocol;
  auto msg = build_data_channel_open(open);
  if (!msg) return msg.error();

  Channel& ch = channels_[*sid];
  ch.label = label;
  ch.protocol = protocol;
  ch.type = open.channel_type;
  ch.reliability_parameter = open.reliability_parameter;
  ch.local = true;

  Outgoing out;
  out.stream_id = *sid;
  out.ppid = Ppid::kDcep;
  out.data = std::move(*msg);
  outgoing_.push_back(std::move(out));  // control message: not counted against the limit
  const uint16_t result = *sid;
  process();
  return result;
}

Status SctpAssociation::send(uint16_t stream_id, ByteSpan data, bool binary) {
  if (closed_ || shutting_down_) return make_error("sctp: association closed");
  if (data.size() > kMaxMessageSize) return make_error("sctp: message larger than 262144 bytes");
  if (stream_id == kReservedStream) return make_error("sctp: stream 65535 is reserved");
  Outgoing out;
  out.stream_id = stream_id;
  auto it = channels_.find(stream_id);
  if (it != channels_.end()) {
    const Channel& ch = it->second;
    if (ch.closing) return make_error("sctp: channel is closing");
    // RFC 8832 §6: the opener sends ordered until the ACK arrives, so no
    // message can overtake the DATA_CHANNEL_OPEN.
    out.unordered = is_unordered(ch.type) && (ch.open || !ch.local);
    out.reliability = ch.type;
    out.reliability_parameter = ch.reliability_parameter;
  } else if (pending_resets_.contains(stream_id) || resetting_.contains(stream_id)) {
    return make_error("sctp: stream is being reset");
  }
  if (queued_bytes_ + data.size() > kMaxQueuedBytes) return make_error("sctp: send queue full");
  // RFC 8831 §6.6: an empty message travels as one byte with its own PPID.
  if (data.empty()) {
    out.ppid = binary ? Ppid::kBinaryEmpty : Ppid::kStringEmpty;
    out.data = Bytes{0};
  } else {
    out.ppid = binary ? Ppid::kBinary : Ppid::kString;
    out.data.assign(data.begin(), data.end());
  }
  queued_bytes_ += out.data.size();
  outgoing_.push_back(std::move(out));
  process();
  return Status::Ok();
}

void SctpAssociation::close_channel(uint16_t stream_id) {
  if (closed_ || stream_id == kReservedStream) return;
  auto it = channels_.find(stream_id);
  if (it != channels_.end()) {
    if (it->second.closing) return;
    it->second.closing = true;
  } else if (pending_resets_.contains(stream_id) || resetting_.contains(stream_id)) {
    return;
  }
  queue_reset(stream_id);
  process();
}

void SctpAssociation::queue_reset(uint16_t stream_id) {
  // Behind the messages already queued on the stream, so they go out first.
  Outgoing out;
  out.stream_id = stream_id;
  out.reset = true;
  outgoing_.push_back(std::move(out));
}

void SctpAssociation::close() {
  if (closed_ || shutting_down_) return;
  if (!established_ || sock_ == nullptr) {
    // Nothing to shut down gracefully: abort what may be half set up (the
    // ABORT still goes out through send_packet).
    teardown_socket();
    mark_closed("closed locally");
    process();
    return;
  }
  // Hand usrsctp what it will take; SHUTDOWN follows its queued data. What
  // it cannot take now would be refused after SHUT_WR anyway.
  flush_outgoing();
  if (!outgoing_.empty()) {
    warn("sctp: close() dropped " + std::to_string(outgoing_.size()) + " queued messages");
    outgoing_.clear();
    queued_bytes_ = 0;
  }
  shutting_down_ = true;
  if (usrsctp_shutdown(sock_, SHUT_WR) != 0) {
    warn(errno_text("sctp: shutdown"));
    teardown_socket();
    mark_closed("closed locally");
  }
  process();
}

void SctpAssociation::tick(Timestamp now) {
  advance_timers(now);
  process();
}

bool SctpAssociation::channel_open(uint16_t stream_id) const {
  auto it = channels_.find(stream_id);
  return it != channels_.end() && it->second.open && !it->second.closing;
}

void SctpAssociation::process() {
  if (processing_) return;
  processing_ = true;
  // Locals, because a callback may destroy *this.
  const std::shared_ptr<bool> alive = alive_;
  const std::shared_ptr<const Callbacks> cb = callbacks_;
  for (;;) {
    bool progress = read_socket();
    progress = flush_outgoing() || progress;
    std::deque<Bytes> packets;
    {
      std::lock_guard lock(global().mu);
      packets.swap(outbox_);
    }
    if (!progress && packets.empty() && events_.empty()) break;
    for (const Bytes& p : packets) {
      if (cb->send_packet) cb->send_packet(p);
      if (!*alive) return;
    }
    while (!events_.empty()) {
      Event ev = std::move(events_.front());
      events_.pop_front();
      if (auto* e = std::get_if<OpenEvent>(&ev)) {
        if (cb->on_channel_open) cb->on_channel_open(e->stream_id, e->label, e->protocol);
      } else if (auto* e = std::get_if<MessageEvent>(&ev)) {
        if (cb->on_message) cb->on_message(e->stream_id, e->data, e->binary);
      } else if (auto* e = std::get_if<ChannelClosedEvent>(&ev)) {
        if (cb->on_channel_closed) cb->on_channel_closed(e->stream_id);
      } else if (auto* e = std::get_if<ClosedEvent>(&ev)) {
        if (cb->on_closed) cb->on_closed(e->reason);
      } else if (std::holds_alternative<EstablishedEvent>(ev)) {
        if (cb->on_established) cb->on_established();
      } else if (auto* e = std::get_if<WarningEvent>(&ev)) {
        if (cb->on_warning) cb->on_warning(e->what);
      }
      if (!*alive) return;
    }
  }
  processing_ = false;
}

bool SctpAssociation::read_socket() {
  if (sock_ == nullptr || !started_ || eof_) return false;
  bool any = false;
  if (rx_buffer_.empty()) rx_buffer_.resize(65536);
  for (;;) {
    sctp_rcvinfo info{};
    socklen_t infolen = sizeof(info);
    unsigned int infotype = 0;
    int flags = 0;
    sockaddr_conn from{};
    socklen_t fromlen = sizeof(from);
    const ssize_t n = usrsctp_recvv(sock_, rx_buffer_.data(), rx_buffer_.size(),
                                    reinterpret_cast<sockaddr*>(&from), &fromlen, &info, &infolen,
                                    &infotype, &flags);
    if (n < 0) {
      if (errno == ECONNRESET) {
        eof_ = true;
        mark_closed("connection reset");
        any = true;
      }
      break;  // EWOULDBLOCK: nothing more for now; ENOTCONN: not up yet
    }
    if (n == 0) {
      // End of stream: the association shut down (SCTP DATA is never empty).
      eof_ = true;
      mark_closed("shutdown");
      any = true;
      break;
    }
    any = true;
    const auto* p = rx_buffer_.data();
    if (flags & MSG_NOTIFICATION) {
      if (partial_notification_.size() + size_t(n) <= kMaxNotificationSize) {
        partial_notification_.insert(partial_notification_.end(), p, p + n);
      }
      if (flags & MSG_EOR) {
        handle_notification(partial_notification_);
        partial_notification_.clear();
      }
      continue;
    }
    if (infotype != SCTP_RECVV_RCVINFO) {
      warn("sctp: message without stream info dropped");
      continue;
    }
    const uint16_t sid = info.rcv_sid;
    const uint32_t ppid = ntohl(info.rcv_ppid);
    const bool continuing = !partial_message_.empty() || partial_oversized_;
    if (continuing && sid != partial_stream_) {
      // Interleave level 0 should make this impossible; never splice two
      // messages together if it happens anyway.
      warn("sctp: interleaved partial message dropped");
      partial_message_.clear();
      partial_oversized_ = false;
    }
    if (partial_message_.empty() && !partial_oversized_) {
      partial_stream_ = sid;
      partial_ppid_ = ppid;
    }
    if (!partial_oversized_) {
      if (partial_message_.size() + size_t(n) > kMaxMessageSize) {
        partial_oversized_ = true;
        Bytes().swap(partial_message_);
      } else {
        partial_message_.insert(partial_message_.end(), p, p + n);
      }
    }
    if (flags & MSG_EOR) {
      if (partial_oversized_) {
        warn("sctp: message larger than 262144 bytes dropped on stream " +
             std::to_string(partial_stream_));
      } else {
        handle_message(partial_stream_, partial_ppid_, std::move(partial_message_));
      }
      partial_message_ = Bytes();
      partial_oversized_ = false;
    }
  }
  return any;
}

bool SctpAssociation::flush_outgoing() {
  bool any = request_pending_resets();
  if (!established_ || closed_ || sock_ == nullptr) return any;
  while (!outgoing_.empty()) {
    Outgoing& o = outgoing_.front();
    if (o.reset) {
      pending_resets_.insert(o.stream_id);
      outgoing_.pop_front();
      any = request_pending_resets() || any;
      continue;
    }
    sctp_sendv_spa spa{};
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = o.stream_id;
    spa.sendv_sndinfo.snd_ppid = htonl(uint32_t(o.ppid));
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    if (o.unordered) spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
    const uint8_t policy = uint8_t(o.reliability) & 0x7f;
    if (policy == 0x01 || policy == 0x02) {
      spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
      spa.sendv_prinfo.pr_policy = policy == 0x01 ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
      spa.sendv_prinfo.pr_value = o.reliability_parameter;
    }
    const ssize_t n = usrsctp_sendv(sock_, o.data.data(), o.data.size(), nullptr, 0, &spa,
                                    sizeof(spa), SCTP_SENDV_SPA, 0);
    if (n < 0) {
      if (errno == EWOULDBLOCK || errno == EAGAIN) break;  // retried on the next call
      warn(errno_text(("sctp: send on stream " + std::to_string(o.stream_id)).c_str()));
    }
    if (o.ppid != Ppid::kDcep) queued_bytes_ -= o.data.size();
    outgoing_.pop_front();
    any = true;
  }
  return any;
}

bool SctpAssociation::request_pending_resets() {
  if (pending_resets_.empty() || !established_ || closed_ || sock_ == nullptr) return false;
  // One request for every stream waiting: usrsctp allows a single
  // outstanding reset request per association.
  const size_t count = pending_resets_.size();
  std::vector<uint8_t> buf(sizeof(sctp_reset_streams) + count * sizeof(uint16_t));
  sctp_reset_streams header{};
  header.srs_assoc_id = SCTP_ALL_ASSOC;
  header.srs_flags = SCTP_STREAM_RESET_OUTGOING;
  header.srs_number_streams = uint16_t(count);
  std::memcpy(buf.data(), &header, sizeof(header));
  size_t offset = sizeof(sctp_reset_streams);
  for (uint16_t sid : pending_resets_) {
    std::memcpy(buf.data() + offset, &sid, sizeof(sid));
    offset += sizeof(sid);
  }
  if (usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_RESET_STREAMS, buf.data(),
                         socklen_t(buf.size())) == 0) {
    resetting_.insert(pending_resets_.begin(), pending_resets_.end());
    pending_resets_.clear();
    return true;
  }
  if (errno == EALREADY || errno == EBUSY || errno == EAGAIN) return false;  // retry later
  warn(errno_text("sctp: stream reset"));
  pending_resets_.clear();
  return false;
}

void SctpAssociation::handle_message(uint16_t stream_id, uint32_t ppid, Bytes data) {
  switch (Ppid(ppid)) {
    case Ppid::kDcep:
      handle_dcep(stream_id, data);
      return;
    case Ppid::kString:
      events_.push_back(MessageEvent{stream_id, std::move(data), false});
      return;
    case Ppid::kBinary:
      events_.push_back(MessageEvent{stream_id, std::move(data), true});
      return;
    case Ppid::kStringEmpty:
      events_.push_back(MessageEvent{stream_id, Bytes(), false});
      return;
    case Ppid::kBinaryEmpty:
      events_.push_back(MessageEvent{stream_id, Bytes(), true});
      return;
    case Ppid::kStringPartial:
    case Ppid::kBinaryPartial:
      warn("sctp: deprecated partial-message PPID " + std::to_string(ppid) + " dropped");
      return;
  }
  warn("sctp: unknown PPID " + std::to_string(ppid) + " dropped");
}

void SctpAssociation::handle_dcep(uint16_t stream_id, ByteSpan data) {
  auto msg = parse_dcep(data);
  if (!msg) {
    warn(msg.error().message + " (stream " + std::to_string(stream_id) + ")");
    return;
  }
  if (auto* open = std::get_if<DataChannelOpen>(&*msg)) {
    if (stream_id == kReservedStream || channels_.contains(stream_id) ||
        pending_resets_.contains(stream_id) || resetting_.contains(stream_id)) {
      warn("dcep: DATA_CHANNEL_OPEN on stream " + std::to_string(stream_id) + " already in use");
      return;
    }
    Channel& ch = channels_[stream_id];
    ch.label = open->label;
    ch.protocol = open->protocol;
    ch.type = open->channel_type;
    ch.reliability_parameter = open->reliability_parameter;
    ch.open = true;
    Outgoing ack;
    ack.stream_id = stream_id;
    ack.ppid = Ppid::kDcep;
    ack.data = build_data_channel_ack();
    outgoing_.push_back(std::move(ack));
    events_.push_back(OpenEvent{stream_id, open->label, open->protocol});
    return;
  }
  auto it = channels_.find(stream_id);
  if (it == channels_.end() || !it->second.local || it->second.open) {
    warn("dcep: unexpected DATA_CHANNEL_ACK on stream " + std::to_string(stream_id));
    return;
  }
  it->second.open = true;
  if (!it->second.closing) {
    events_.push_back(OpenEvent{stream_id, it->second.label, it->second.protocol});
  }
}

void SctpAssociation::handle_notification(const Bytes& data) {
  decltype(sctp_notification::sn_header) header{};
  if (data.size() < sizeof(header)) return;
  std::memcpy(&header, data.data(), sizeof(header));
  if (header.sn_length != data.size()) return;
  switch (header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
      sctp_assoc_change sac{};
      if (data.size() < sizeof(sac)) return;
      std::memcpy(&sac, data.data(), sizeof(sac));
      switch (sac.sac_state) {
        case SCTP_COMM_UP:
          if (!established_ && !closed_) {
            established_ = true;
            max_outbound_streams_ = sac.sac_outbound_streams;
            events_.push_back(EstablishedEvent{});
          }
          break;
        case SCTP_RESTART:
          // The peer restarted the association; channels survive only if it
          // kept its state, which a browser never does.
          warn("sctp: peer restarted the association");
          max_outbound_streams_ = sac.sac_outbound_streams;
          break;
        case SCTP_COMM_LOST:
          mark_closed("communication lost");
          break;
        case SCTP_SHUTDOWN_COMP:
          mark_closed("shutdown");
          break;
        case SCTP_CANT_STR_ASSOC:
          mark_closed("could not establish the association");
          break;
        default:
          break;
      }
      return;
    }
    case SCTP_STREAM_RESET_EVENT: {
      sctp_stream_reset_event ev{};
      if (data.size() < sizeof(ev)) return;
      std::memcpy(&ev, data.data(), sizeof(ev));
      const size_t count = (data.size() - sizeof(ev)) / sizeof(uint16_t);
      std::vector<uint16_t> streams(count);
      if (count > 0) {
        std::memcpy(streams.data(), data.data() + sizeof(ev), count * sizeof(uint16_t));
      }
      handle_stream_reset(ev.strreset_flags, streams.data(), streams.size());
      return;
    }
    case SCTP_SEND_FAILED_EVENT: {
      sctp_send_failed_event ev{};
      if (data.size() < sizeof(ev)) return;
      std::memcpy(&ev, data.data(), sizeof(ev));
      // Abandoning messages is what partially reliable channels are for; on
      // a reliable stream it means the association is failing.
      auto it = channels_.find(ev.ssfe_info.snd_sid);
      const bool partial = it != channels_.end() && (uint8_t(it->second.type) & 0x7f) != 0;
      if (!partial) {
        warn("sctp: message on stream " + std::to_string(ev.ssfe_info.snd_sid) +
             " not delivered (error " + std::to_string(ev.ssfe_error) + ")");
      }
      return;
    }
    default:
      // SCTP_SENDER_DRY_EVENT: process() already retries queued messages on
      // every call; nothing else to do.
      return;
  }
}

void SctpAssociation::handle_stream_reset(uint16_t flags, const uint16_t* streams, size_t count) {
  if (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
    // Our request was refused: the peer keeps sending on those streams; free
    // the ids rather than leak them.
    for (size_t i = 0; i < count; ++i) resetting_.erase(streams[i]);
    warn("sctp: stream reset refused by the peer");
    return;
  }
  if (flags & SCTP_STREAM_RESET_INCOMING_SSN) {
    // The peer reset its outgoing side: the channel is closed (RFC 8831
    // §6.7); answer with ours unless we started the close.
    for (size_t i = 0; i < count; ++i) {
      const uint16_t sid = streams[i];
      if (!partial_message_.empty() && partial_stream_ == sid) {
        partial_message_.clear();
        partial_oversized_ = false;
      }
      auto it = channels_.find(sid);
      // Streams without a DCEP channel are not answered: two peers that both
      // answer every reset would reset each other forever.
      if (it == channels_.end()) continue;
      if (!it->second.closing) queue_reset(sid);
      channels_.erase(it);
      events_.push_back(ChannelClosedEvent{sid});
    }
  }
  if (flags & SCTP_STREAM_RESET_OUTGOING_SSN) {
    for (size_t i = 0; i < count; ++i) resetting_.erase(streams[i]);
  }
}

void SctpAssociation::mark_closed(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  established_ = false;
  outgoing_.clear();
  queued_bytes_ = 0;
  events_.push_back(ClosedEvent{reason});
}

void SctpAssociation::warn(std::string what) {
  events_.push_back(WarningEvent{std::move(what)});
}

}  // namespace lss::sctp
