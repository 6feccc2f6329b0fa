#pragma once
// One WebRTC data-channel SCTP association (RFC 8831, RFC 8261) with DCEP
// (RFC 8832), built on libusrsctp but kept sans-I/O: packets come in through
// handle_packet() and leave through Callbacks::send_packet, time comes in
// through tick(), and nothing here owns a socket, a thread or a clock.
//
// usrsctp is process-global (one stack, one timer wheel, one output hook), so
// every association shares it. What that means for the caller:
//  - usrsctp is initialised once, on the first start(), without its timer
//    and receive threads, and is never torn down (no usrsctp_finish).
//  - Timers are global: tick() on any association advances them for all, by
//    the time elapsed since the last tick() of any association. Tick every
//    association regularly (every 10-50 ms); an association's timer-driven
//    work (retransmissions, heartbeats, COMM_LOST) is delivered through its
//    own callbacks on its own next tick() or handle_packet().
//  - `now` must be the real steady clock (Clock::now()). Only usrsctp's timer
//    wheel follows it; usrsctp also reads the real clock itself, for RTT,
//    heartbeat spacing and for which chunks a retransmission timeout may
//    resend. A fake clock running faster than real time makes timers fire
//    without their packets (the unit tests live with that).
//  - "No threads" is almost true: usrsctp_init_nothreads still starts its
//    idle SCTP iterator thread. Our output hook is thread-safe regardless.
//  - Different associations may live on different threads; one association
//    must only be used from one thread at a time.
//
// Callbacks are only ever invoked from inside this object's own public calls
// (never from usrsctp's internals, never from another association's tick), and
// never while usrsctp holds a lock. So a callback may call back into the
// association (send, close_channel, close) and may destroy it; nothing is
// invoked after the destructor starts.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"
#include "sctp/dcep.hpp"

struct socket;  // usrsctp's opaque socket

namespace lss::sctp {

// How a locally opened channel delivers (RFC 8832 §5.1). At most one of
// max_retransmits / max_packet_lifetime_ms may be set.
struct ChannelOptions {
  bool ordered = true;
  std::optional<uint32_t> max_retransmits;
  std::optional<uint32_t> max_packet_lifetime_ms;
  uint16_t priority = 256;
};

class SctpAssociation {
 public:
  struct Callbacks {
    // An SCTP packet to put in DTLS application data. Required.
    std::function<void(ByteSpan packet)> send_packet;
    // A channel is usable: the remote opened it (we already sent the ACK), or
    // the remote acknowledged one we opened with open_channel().
    std::function<void(uint16_t stream_id, const std::string& label, const std::string& protocol)>
        on_channel_open;
    std::function<void(uint16_t stream_id, ByteSpan data, bool binary)> on_message;
    // The remote reset its outgoing side of the stream: the channel is closed
    // (we reset ours in answer). Fires for channels either side closed.
    std::function<void(uint16_t stream_id)> on_channel_closed;
    // The association is gone: ABORT, SHUTDOWN (either side's), retransmission
    // failure, or it could not be set up. Fires at most once.
    std::function<void(const std::string& reason)> on_closed;
    // Optional: the association is up (COMM_UP).
    std::function<void()> on_established;
    // Optional: something the peer sent was dropped (bad DCEP, unknown PPID,
    // oversized message...). Meant for a log line.
    std::function<void(const std::string& what)> on_warning;
  };

  // Ports are the a=sctp-port values (5000 for browsers). dtls_client picks
  // the stream-id parity of open_channel(): even for the DTLS client, odd for
  // the DTLS server (RFC 8832 §6).
  SctpAssociation(uint16_t local_port, uint16_t remote_port, bool dtls_client, Callbacks cb);
  ~SctpAssociation();
  SctpAssociation(const SctpAssociation&) = delete;
  SctpAssociation& operator=(const SctpAssociation&) = delete;

  // Call once DTLS is connected. Both sides send INIT whatever their DTLS
  // role (RFC 8841); SCTP resolves the simultaneous open and COMM_UP follows.
  Status start();
  // An SCTP packet received in DTLS application data. Packets arriving before
  // start() are kept (a few) and fed in by start(), since the remote INIT may
  // overtake our own start.
  void handle_packet(ByteSpan packet);
  // Opens a channel with DCEP on a free stream of our parity and returns its
  // id. Data may be sent on it at once (ordered until the ACK arrives). Works
  // before the association is up: the OPEN is queued.
  Result<uint16_t> open_channel(const std::string& label, const std::string& protocol = "",
                                const ChannelOptions& options = {});
  // Queues one message (at most kMaxMessageSize bytes). Streams without a
  // DCEP-opened channel are allowed (pre-negotiated channels) and are sent
  // reliable and ordered.
  Status send(uint16_t stream_id, ByteSpan data, bool binary);
  // Resets our outgoing stream (RFC 8831 §6.7) after what was queued on it;
  // on_channel_closed fires once the remote resets its side too. (Resets of
  // streams without a DCEP channel are neither reported nor answered.)
  void close_channel(uint16_t stream_id);
  // Graceful SHUTDOWN after queued data; on_closed fires on both sides.
  void close();
  // Drives usrsctp's global timers and delivers this association's pending
  // work. `now` must come from one monotonic clock for the whole process.
  void tick(Timestamp now);

  bool established() const { return established_; }
  bool closed() const { return closed_; }
  // True once a channel is usable (see on_channel_open).
  bool channel_open(uint16_t stream_id) const;
  // Bytes accepted by send() but not yet handed to usrsctp (it keeps up to
  // 1 MiB more in its own send buffer).
  size_t buffered_amount() const { return queued_bytes_; }

 private:
  friend struct SctpAssociationTestPeer;  // injects malformed DCEP in unit tests

  struct Channel {
    std::string label;
    std::string protocol;
    ChannelType type = ChannelType::kReliable;
    uint32_t reliability_parameter = 0;
    bool local = false;    // opened by us with open_channel()
    bool open = false;     // usable (see on_channel_open)
    bool closing = false;  // our outgoing reset was requested
  };
  // Something to hand to usrsctp, in order: a message or a stream reset.
  struct Outgoing {
    uint16_t stream_id = 0;
    Ppid ppid = Ppid::kBinary;
    Bytes data;
    bool unordered = false;
    ChannelType reliability = ChannelType::kReliable;
    uint32_t reliability_parameter = 0;
    bool reset = false;
  };
  struct OpenEvent {
    uint16_t stream_id;
    std::string label;
    std::string protocol;
  };
  struct MessageEvent {
    uint16_t stream_id;
    Bytes data;
    bool binary;
  };
  struct ChannelClosedEvent {
    uint16_t stream_id;
  };
  struct ClosedEvent {
    std::string reason;
  };
  struct EstablishedEvent {};
  struct WarningEvent {
    std::string what;
  };
  using Event = std::variant<OpenEvent, MessageEvent, ChannelClosedEvent, ClosedEvent,
                             EstablishedEvent, WarningEvent>;

  // Reads what usrsctp delivered, hands it queued messages, sends its
  // packets and runs callbacks until nothing is left. Re-entrant calls (from
  // inside a callback) return at once: the outer loop picks their work up.
  void process();
  bool read_socket();
  bool flush_outgoing();
  bool request_pending_resets();
  void handle_message(uint16_t stream_id, uint32_t ppid, Bytes data);
  void handle_dcep(uint16_t stream_id, ByteSpan data);
  void handle_notification(const Bytes& data);
  void handle_stream_reset(uint16_t flags, const uint16_t* streams, size_t count);
  void mark_closed(const std::string& reason);
  void queue_reset(uint16_t stream_id);
  void warn(std::string what);
  void teardown_socket();

  const uint16_t local_port_;
  const uint16_t remote_port_;
  const bool dtls_client_;
  // Shared so a callback that destroys us does not destroy the std::function
  // it is running in; `alive_` tells the running loop to stop touching us.
  std::shared_ptr<const Callbacks> callbacks_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // The AF_CONN address usrsctp knows us by: a process-unique number, never
  // a pointer, so a packet or upcall for a destroyed association cannot reach
  // a new one allocated at the same address.
  const uintptr_t cookie_;
  struct socket* sock_ = nullptr;

  bool started_ = false;
  bool address_registered_ = false;
  bool established_ = false;
  bool shutting_down_ = false;  // close() sent SHUTDOWN
  bool closed_ = false;
  bool eof_ = false;
  bool processing_ = false;
  uint16_t max_outbound_streams_ = 1024;

  std::deque<Bytes> outbox_;         // packets from usrsctp; guarded by the registry mutex
  std::deque<Bytes> early_packets_;  // received before start()
  std::map<uint16_t, Channel> channels_;
  std::set<uint16_t> pending_resets_;  // outgoing resets usrsctp has not accepted yet
  std::set<uint16_t> resetting_;       // outgoing resets in flight (ids not reusable yet)
  std::deque<Outgoing> outgoing_;
  size_t queued_bytes_ = 0;
  std::deque<Event> events_;

  // Reassembly of messages and notifications usrsctp delivers in pieces.
  Bytes rx_buffer_;
  Bytes partial_message_;
  uint16_t partial_stream_ = 0;
  uint32_t partial_ppid_ = 0;
  bool partial_oversized_ = false;
  Bytes partial_notification_;
};

}  // namespace lss::sctp
