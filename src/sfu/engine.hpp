#pragma once
// The SFU on one media worker: streams by name, sessions by id, peers by ICE
// ufrag and by remote address for demultiplexing the worker's UDP port.
// Every method runs on the worker's thread; the HTTP front end posts to it.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "common/socket_address.hpp"
#include "dtls/dtls_certificate.hpp"
#include "record/recording_service.hpp"
#include "sdp/negotiation.hpp"
#include "sdp/session_description.hpp"
#include "sfu/engine_metrics.hpp"
#include "sfu/stream.hpp"

namespace lss::sfu {

// A stream started or ended (for the catalog and the app's events).
struct StreamEvent {
  enum class Kind { kStarted, kEnded } kind;
  StreamInfo info;
  std::string publisher;
  int peak_viewers = 0;
};

// A viewer session began (its WHEP/PeerJS answer went out) or ended (closed,
// timed out, or its stream ended), for webhooks.
struct ViewerEvent {
  enum class Kind { kJoined, kLeft } kind;
  std::string stream, stream_id;  // name and session id of the stream watched
  std::string session_id;         // the viewer's session
  std::string remote;             // its HTTP remote address; empty when unknown
};

struct EngineOptions {
  std::vector<std::pair<std::string, uint16_t>> candidates;      // ICE host candidates (ip, port)
  std::vector<std::pair<std::string, uint16_t>> tcp_candidates;  // passive ICE-TCP (ip, port)
  Duration consent_timeout = std::chrono::seconds(15);
  // Starts recording a new stream (unset: streams are not recorded).
  std::function<std::shared_ptr<record::RecordingSink>(
      const std::string& name, const std::string& id, const std::vector<PublishedTrack>& tracks)>
      start_recording;
  // Called on the worker thread; implementations hand it to the control thread.
  std::function<void(const StreamEvent&)> on_stream_event;
  // Likewise for viewers (unset: no viewer events).
  std::function<void(const ViewerEvent&)> on_viewer_event;
  // This engine's media worker. Every session id it makes starts with it (two
  // hex digits), so a request for a session finds its worker.
  uint8_t worker_index = 0;
  // Limits (0: none); past one a new session gets 503 (the front end adds
  // Retry-After). Streams are counted across every engine sharing
  // `live_streams`.
  size_t max_streams = 0;
  size_t max_viewers_per_stream = 0;  // this stream's viewers on every worker
  size_t max_peers = 0;               // publishers and viewers on this engine
  std::shared_ptr<std::atomic<size_t>> live_streams = std::make_shared<std::atomic<size_t>>(0);
  // A node-to-node link socket (net::MediaWorker::open_link) for a stream
  // pulled from another node, and its release; unset: no pulls from nodes.
  std::function<std::optional<uint16_t>()> open_link;
  std::function<void(uint16_t)> close_link;
  // Consent checks on such a link: a dead origin is noticed within `timeout`.
  Duration node_link_consent_interval = std::chrono::seconds(1);
  Duration node_link_consent_timeout = std::chrono::seconds(5);
  // A buffer to build the next datagram in that the send function takes
  // without a copy (net::MediaWorker::send_buffer); unset: none.
  std::function<uint8_t*(size_t capacity)> send_buffer;
  // PACING=on: viewers' packets leave at their pacer's times
  // (sfu/burst_pacer.hpp) through this (net::MediaWorker::send_at); unset:
  // no pacing.
  // `tag`: PeerConnection::send_rtp's, for Engine::on_released.
  std::function<void(ByteSpan, const SocketAddress&, Timestamp release, uint32_t tag)> send_at;
};

// Whom a pull calls: a publisher (a PeerJS streamer: it runs the ICE
// checks, we are ICE-lite) or another node of the cluster (its WHEP: both
// ends would be ICE-lite, so we run the checks, from a link socket of our
// own). A stream pulled from a node is served here but not recorded,
// listed or announced: its own node does that.
enum class PullFrom { kPublisher, kNode };

// A failed request with the HTTP status the front end should answer.
struct Failure {
  int status;
  std::string reason;
};

struct SessionCreated {
  std::string session_id;
  std::string answer_sdp;
  std::string etag;  // the session's entity tag (see session_etag.hpp)
};

// A WHIP/WHEP session's ICE state, for PATCH (RFC 9725 §4.3).
struct SessionIce {
  std::string etag;              // current entity tag, quoted; changes with each ICE restart
  std::string remote_ufrag;      // the peer's current ICE ufrag
  bool restart_pending = false;  // restarted, the peer has not nominated with the new credentials
};

// A session's ICE restart: its new entity tag, and our new credentials with
// our candidates (unchanged: same ports, same addresses).
struct IceRestarted {
  std::string etag;
  sdp::LocalTransport local;
};

// The first half of a pull (the SFU calls a publisher, e.g. a PeerJS
// streamer): the offer to send, under a pending session id.
struct PullOffered {
  std::string session_id;
  std::string offer_sdp;
};

// What a relay of a stream on another worker needs to serve viewers: the
// origin's session id and tracks (with their outbound SSRCs).
struct RelaySource {
  std::string session_id;
  std::vector<PublishedTrack> tracks;
};

class Engine : public webrtc::PeerConnection::Transport {
 public:
  using SendFn = std::function<void(ByteSpan, const SocketAddress&)>;

  Engine(std::shared_ptr<DtlsCertificate> cert, SendFn send, EngineOptions options);
  ~Engine() override;

  // Control operations (worker thread).
  // `hold`: kept with the session's peer until the peer goes, whatever ends
  // it, and dropped at once on a refusal or a DELETE (the front end's
  // SESSIONS_PER_IP slot of the client's address).
  std::variant<SessionCreated, Failure> publish(const std::string& stream,
                                                const sdp::SessionDescription& offer, Timestamp now,
                                                const std::string& publisher = {},
                                                std::shared_ptr<void> hold = {});
  // `max_layer`: the viewer's own ceiling, the rank of the fastest
  // simulcast layer it wants (0: the slowest); -1 for none.
  std::variant<SessionCreated, Failure> subscribe(const std::string& stream,
                                                  const sdp::SessionDescription& offer,
                                                  Timestamp now, const std::string& viewer = {},
                                                  int max_layer = -1,
                                                  std::shared_ptr<void> hold = {});
  // The SFU as offerer toward a publisher: prepare_pull() makes the offer
  // for stream `stream`, complete_pull() takes the publisher's answer and
  // starts the stream (as publish() does). A pull not completed within
  // `kPullTimeout` is forgotten; cancel_pull() forgets it at once.
  // With `switch_source`, a live stream is allowed: the answer then becomes
  // its new source (Stream::begin_switch) instead of starting a stream.
  std::variant<PullOffered, Failure> prepare_pull(const std::string& stream, Timestamp now,
                                                  bool switch_source = false,
                                                  PullFrom from = PullFrom::kPublisher);
  std::variant<SessionCreated, Failure> complete_pull(const std::string& session_id,
                                                      const sdp::SessionDescription& answer,
                                                      Timestamp now,
                                                      const std::string& publisher = {});
  void cancel_pull(const std::string& session_id);
  static constexpr Duration kPullTimeout = std::chrono::seconds(60);
  // A stream pulled from a node ends this long after its last viewer here
  // left (a viewer coming back soon finds it still there).
  static constexpr Duration kPulledLinger = std::chrono::seconds(15);

  // Cross-worker fan-out (see relay_link.hpp). On the stream's worker:
  // feed `link` with stream `stream`'s packets; nothing when it is not live.
  std::optional<RelaySource> attach_relay(const std::string& stream,
                                          std::shared_ptr<RelayLink> link);
  // On the relay's worker: serve viewers of `stream` from `link`. False when
  // the name is taken by a live stream of this engine.
  bool add_relay(const std::string& stream, RelaySource source, std::shared_ptr<RelayLink> link);
  // The worker a session id was made on (its first two hex digits).
  static std::optional<size_t> worker_of_session(std::string_view session_id);

  // Ends a publisher (and its stream) or a viewer; false when unknown.
  // `reason` is logged (and given to the peer's close); empty: the peer's
  // own request (WHIP/WHEP DELETE).
  bool end_session(const std::string& stream, const std::string& session_id, bool publisher,
                   const std::string& reason = {});
  // Every open session here, publishers and viewers (relays' included), for
  // the admin API (engine_sessions.cpp).
  std::vector<SessionSummary> sessions(Timestamp now) const;
  // The stream and role of session `session_id` here, for ending it by id
  // alone; nullopt when there is no such open session.
  struct SessionRef {
    std::string stream;
    bool publisher = false;
  };
  std::optional<SessionRef> find_session(const std::string& session_id) const;
  // WHIP/WHEP PATCH. The ICE state of an open publisher (or viewer)
  // session of `stream`; nullopt when there is none.
  std::optional<SessionIce> session_ice(const std::string& stream, const std::string& session_id,
                                        bool publisher);
  // ICE restart of that session: new local credentials and the peer's new
  // ufrag `remote_ufrag`. DTLS, SRTP, SSRCs and the media address stay. The
  // ufrag map answers to both credentials until the peer nominates with the
  // new ones, then forgets the old (checks with them are dropped). 404
  // Failure when the session is unknown or closed.
  std::variant<IceRestarted, Failure> restart_ice(const std::string& stream,
                                                  const std::string& session_id, bool publisher,
                                                  const std::string& remote_ufrag);
  // Streams whose publisher is here (relays are counted in their origin's
  // viewers, not listed).
  std::vector<StreamInfo> streams(Timestamp now = {}) const;  // bitrates with `now`
  // Streams pulled from their nodes and served here (cluster relay).
  std::vector<StreamInfo> pulled_streams() const;
  // Every viewer on this engine (relays' included), optionally of one stream.
  std::vector<ViewerStats> viewer_stats(const std::string& stream = "") const;
  // Peers (publishers and viewers) on this engine; readable from any thread
  // (for placing new streams on the least-loaded worker).
  size_t peer_count() const { return peer_count_.load(std::memory_order_relaxed); }
  // Gauges and counters for GET /metrics (worker thread; see engine_metrics.hpp).
  EngineMetrics metrics();
  size_t worker_index() const { return options_.worker_index; }
  // New candidates for the sessions made from now on (worker thread, or
  // before it runs: PUBLIC_IP=auto learns the public address after the
  // engines exist).
  void set_candidates(std::vector<std::pair<std::string, uint16_t>> udp,
                      std::vector<std::pair<std::string, uint16_t>> tcp) {
    options_.candidates = std::move(udp);
    options_.tcp_candidates = std::move(tcp);
  }
  void shutdown();

  // Media (worker thread).
  void handle_datagram(uint8_t* data, size_t size, const SocketAddress& from, Timestamp now);
  void tick(Timestamp now);
  // When woken: forwards what origins on other workers pushed to our relays,
  // setting `arrival` to when each packet reached its origin before it goes
  // out.
  void drain_relays(Timestamp now, Timestamp& arrival);
  // A batch of the worker's (the datagrams of one receive, a wake-up):
  // between these, streams send what they are given viewer by viewer at
  // the end (fanout_batch.hpp). Without them packets go out as they come.
  void begin_batch() { fanout_.begin(); }
  void end_batch() { fanout_.end(); }
  // A datagram send_at() held left at `at`: the peer at `to` hears of it
  // (PeerConnection::released), if it is still there.
  void on_released(const SocketAddress& to, uint32_t tag, Timestamp at) {
    if (auto* pc = peer_for_address(to)) pc->released(tag, at);
  }
  void drain_relays(Timestamp now) {
    Timestamp arrival;
    drain_relays(now, arrival);
  }

  // PeerConnection::Transport
  void send_datagram(ByteSpan data, const SocketAddress& to) override { send_(data, to); }
  void send_datagram_at(ByteSpan data, const SocketAddress& to, Timestamp release,
                        uint32_t tag) override {
    if (options_.send_at) {
      options_.send_at(data, to, release, tag);
    } else {
      send_(data, to);
    }
  }
  uint8_t* send_buffer(size_t capacity) override {
    return options_.send_buffer ? options_.send_buffer(capacity) : nullptr;
  }

 private:
  sdp::LocalTransport new_local_transport() const;
  // A 503 when a new publisher (`new_stream`) or viewer of `stream` would
  // pass a limit of EngineOptions.
  std::optional<Failure> over_limit(bool new_stream, const Stream* stream) const;
  std::string new_session_id() const;
  // The stream called `name` unless it has ended; an ended one (which lingers
  // until the next tick) is removed at once so the name can be taken again.
  Stream* live_stream(const std::string& name);
  using StreamMap = std::unordered_map<std::string, std::unique_ptr<Stream>>;
  // Forgets an ended stream's peers, reports its end and erases it.
  StreamMap::iterator remove_stream(StreamMap::iterator it);
  webrtc::PeerConnection* peer_for_address(const SocketAddress& a);
  void forget_peer(webrtc::PeerConnection& pc);
  // Counters of what leaves, kept in departed_ (engine_metrics.cpp).
  void keep_peer_totals(const webrtc::PeerConnection& pc);
  void keep_viewer_totals(const Subscriber& sub);
  void keep_stream_totals(const Stream& stream);  // its own and its viewers'
  // The open peer of a publisher or viewer session; null when unknown.
  webrtc::PeerConnection* session_peer(const std::string& stream, const std::string& session_id,
                                       bool publisher);
  // After a valid check: drops what `pc` let go (an address, a restart's old ufrag).
  void after_valid_check(webrtc::PeerConnection& pc);
  void update_peer_count() {
    peer_count_.store(by_ufrag_.size() - old_ufrags_.size(), std::memory_order_relaxed);
  }
  // Reports a viewer's end once (from the sweep, or when its stream goes).
  void viewer_left(const Stream& stream, const Subscriber& sub);
  // Creates and registers the stream once its publisher is negotiated.
  SessionCreated start_stream(const std::string& name, const std::string& session_id,
                              const sdp::LocalTransport& local, const sdp::PublishAnswer& answer,
                              Timestamp now, const std::string& publisher,
                              std::shared_ptr<void> hold = {},
                              std::optional<webrtc::PeerConfig::Controlling> from_node = {});
  // `controlling`: we run the ICE checks (a pull from a node); the
  // candidates must be the link's addresses, which route to the peer.
  std::unique_ptr<webrtc::PeerConnection> make_peer(
      const sdp::LocalTransport& local, const sdp::RemoteTransport& remote,
      webrtc::PeerConnection::Observer& observer, Timestamp now,
      std::optional<webrtc::DataChannelConfig> dc, std::shared_ptr<void> hold = {},
      std::optional<webrtc::PeerConfig::Controlling> controlling = {});

  std::shared_ptr<DtlsCertificate> cert_;
  SendFn send_;
  EngineOptions options_;
  FanoutBatch fanout_;  // before streams_: they leave it as they are destroyed
  StreamMap streams_;
  // Relays of other workers' streams: a wake visits only these.
  std::vector<Stream*> relays_here_;
  struct PendingPull {
    std::string stream;
    sdp::LocalTransport local;
    Timestamp created;
    bool switch_source = false;
    PullFrom from = PullFrom::kPublisher;
  };

  std::unordered_map<std::string, PendingPull> pulls_;  // by session id
  // Transparent hashing: the per-packet STUN lookup takes a string_view and
  // allocates nothing (C++20 heterogeneous lookup).
  struct UfragHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, webrtc::PeerConnection*, UfragHash, std::equal_to<>> by_ufrag_;
  std::unordered_map<SocketAddress, webrtc::PeerConnection*, SocketAddressHash> by_address_;
  // Peers in an ICE restart: the ufrag in use before it, still in by_ufrag_
  // until the peer nominates with the new one.
  std::unordered_map<webrtc::PeerConnection*, std::string> old_ufrags_;
  std::atomic<size_t> peer_count_{0};
  EngineMetrics departed_;              // counters of peers and streams gone
  uint64_t packets_lost_reported_ = 0;  // the highest packets_lost metrics() gave
  // Viewer sessions whose join was reported, with their remote address, so
  // viewer.left says where from and is reported once.
  std::unordered_map<std::string, std::string> viewer_remotes_;
  // What the front end gave to keep with a peer (publish/subscribe `hold`),
  // dropped in forget_peer.
  std::unordered_map<const webrtc::PeerConnection*, std::shared_ptr<void>> holds_;
  // Peers of streams pulled from nodes, and their link sockets, closed in forget_peer.
  std::unordered_map<const webrtc::PeerConnection*, uint16_t> links_;
};

}  // namespace lss::sfu
