#pragma once
// One live stream: its publisher's peer, its tracks and its viewers. Each
// RTP stream the publisher sends (a track, or one simulcast layer of it) is
// a source: its packets are deduplicated, cached for retransmission,
// NACKed when missing, measured, and fanned out to every viewer. Audio is
// rewritten once to the stream's outbound SSRC; video is rewritten per
// viewer (VideoRewriter), since each viewer follows the layer its path can
// carry. Viewer feedback (NACK, PLI/FIR) is answered from the cache or
// merged toward the publisher, per layer.
//
// A stream serves the viewers on its own media worker. Viewers placed on other
// workers are served by a relay there: a Stream without a publisher whose
// packets come from the origin through a RelayLink (see relay_link.hpp).
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "record/recording_service.hpp"
#include "rtp/duplicate_filter.hpp"
#include "rtp/nack_generator.hpp"
#include "rtp/rate_meter.hpp"
#include "rtp/receive_stats.hpp"
#include "rtp/retransmission_buffer.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtt_estimator.hpp"
#include "rtp/twcc_feedback_builder.hpp"
#include "sfu/fanout_batch.hpp"
#include "sfu/keyframe_requester.hpp"
#include "sfu/layer_selector.hpp"
#include "sfu/relay_link.hpp"
#include "sfu/session_summary.hpp"
#include "sfu/subscriber.hpp"
#include "sfu/track.hpp"
#include "sfu/video_rewriter.hpp"
#include "webrtc/peer_connection.hpp"

namespace lss::sfu {

struct StreamInfo {
  std::string name, session_id;
  std::string started_at;  // ISO 8601 UTC
  size_t viewers = 0;
  std::string video_codec, audio_codec;
  uint64_t bitrate_bps = 0;  // arriving over the last second, all tracks and layers
  // Pulled from the node that owns it (cluster relay): served to viewers
  // here, but neither recorded, listed nor announced by this node.
  bool pulled = false;
};

class Stream : public webrtc::PeerConnection::Observer, public FanoutBatch::Member {
 public:
  // With `upstream`, a relay of a stream on another worker (see add_relay).
  Stream(std::string name, std::string session_id, std::vector<PublishedTrack> tracks,
         std::shared_ptr<RelayLink> upstream = nullptr);
  ~Stream() override;

  void attach_publisher(std::unique_ptr<webrtc::PeerConnection> pc) { publisher_ = std::move(pc); }
  // Source switch (the original app's clip dance): `pc` becomes the
  // publisher at its first video keyframe (or first packet without video);
  // until then the current publisher goes on. Viewers and the recording see
  // one continuous track: same SSRCs, sequence numbers and timestamps carried
  // on across the cut. `lined` comes from line_up().
  void begin_switch(std::unique_ptr<webrtc::PeerConnection> pc, std::vector<PublishedTrack> lined);
  // A new source's tracks lined up with the stream's by kind, with the
  // stream's outbound SSRCs; an error when a codec differs (viewers
  // negotiated it and the recording is muxing it) or the layers differ.
  Result<std::vector<PublishedTrack>> line_up(const std::vector<PublishedTrack>& tracks) const;
  // A source switch was asked for (a call to the new source is out): if the
  // current publisher leaves first, the stream waits for the new one rather
  // than ending. Cleared when the call is answered, fails or times out.
  void expect_switch(bool expected) { switch_expected_ = expected; }
  // No source and none coming: the stream should end.
  bool orphaned() const {
    return !upstream_ && !publisher_ && !next_publisher_ && !switch_expected_;
  }

  // Cross-worker fan-out, origin side: also feed `link` (another worker's
  // relay of this stream, a Stream made with it as its upstream).
  void add_relay(std::shared_ptr<RelayLink> link) {
    unwatched_since_ = {};  // a viewer is on its way there
    relays_.push_back(std::move(link));
  }
  bool is_relay() const { return upstream_ != nullptr; }
  // A relay whose origin has ended (it ends itself when it next drains).
  bool origin_ended() const {
    return upstream_ && upstream_->origin_ended.load(std::memory_order_acquire);
  }
  // Relay: forwards what the origin pushed since the last drain. `arrival`
  // is set, before each packet goes out, to when it reached the origin (for
  // the worker's forwarding-latency histogram).
  void drain_upstream(Timestamp now, Timestamp& arrival);
  // Every publisher-side peer (current, incoming, retiring), for ticks.
  template <class F>
  void for_each_publisher_peer(F&& f) {
    if (publisher_) f(*publisher_);
    if (next_publisher_) f(*next_publisher_);
    for (auto& r : retired_) f(*r);
  }
  // Destroys retired publishers once closed; `on_removed` runs first.
  void sweep_publishers(const std::function<void(webrtc::PeerConnection&)>& on_removed);
  webrtc::PeerConnection& publisher() { return *publisher_; }
  webrtc::PeerConnection* publisher_peer() { return publisher_.get(); }  // null between sources
  const std::string& name() const { return name_; }
  const std::string& session_id() const { return session_id_; }
  const std::vector<PublishedTrack>& tracks() const { return tracks_; }
  bool ended() const { return ended_; }
  void set_recording(std::shared_ptr<record::RecordingSink> sink) { recording_ = std::move(sink); }
  void set_publisher_label(std::string p) { publisher_label_ = std::move(p); }
  void set_pulled() { pulled_ = true; }
  bool pulled() const { return pulled_; }
  // The worker's batch (fanout_batch.hpp): while it is open, packets wait
  // here and reach the viewers viewer by viewer when it ends.
  void set_fanout_batch(FanoutBatch* batch) { fanout_batch_ = batch; }
  // Sends what waits to every viewer, viewer by viewer.
  void flush_fanout() override;
  // How long nobody has watched it (0 while someone does); from the first
  // call without viewers.
  Duration unwatched_for(Timestamp now) {
    if (viewer_count() > 0) {
      unwatched_since_ = {};
      return Duration{};
    }
    if (unwatched_since_ == Timestamp{}) unwatched_since_ = now;
    return now - unwatched_since_;
  }
  const std::string& publisher_label() const { return publisher_label_; }
  int peak_viewers() const { return peak_viewers_; }
  // PLIs sent to the publisher (and to an incoming source), for /metrics.
  uint64_t plis_sent() const { return plis_sent_; }

  Subscriber& add_subscriber(std::unique_ptr<Subscriber> sub);
  std::vector<std::unique_ptr<Subscriber>>& subscribers() { return subscribers_; }
  const std::vector<std::unique_ptr<Subscriber>>& subscribers() const { return subscribers_; }
  // Removes closed viewers; calls `on_removed` for each before destroying it.
  void sweep_subscribers(const std::function<void(Subscriber&)>& on_removed);

  // Ends the stream: the publisher and every viewer get a DTLS close.
  void end(const std::string& reason);

  // A keyframe of `layer` of video track `track` is wanted. A relay passes
  // the request on to its origin (read on the origin's tick).
  void request_keyframe(size_t track, int layer);
  // The cached packet `seq` (the source's numbering) of a video layer.
  std::optional<ByteSpan> cached(size_t track, int layer, uint16_t seq, Timestamp now) const;
  // The operating points of video track `track` arriving now (a packet
  // within the last second), slowest first: each spatial layer as sent, and
  // where the lowest one carries VP8 temporal layers, it without its upper
  // ones too.
  std::vector<LayerRate> operating_points(size_t track, Timestamp now);
  // The spatial layers alone (all temporal layers), slowest first.
  std::vector<LayerRate> active_layers(size_t track, Timestamp now);
  void tick(Timestamp now);
  StreamInfo info(Timestamp now = {}) const;  // bitrate_bps only with `now`
  // Open viewers here plus those of every relay.
  int viewer_count() const;
  // The publisher's session, for the admin API (not for relays).
  SessionSummary publisher_summary(Timestamp now) const;

  // PeerConnection::Observer (the publisher)
  void on_connected(webrtc::PeerConnection& pc, Timestamp now) override;
  void on_rtp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override;
  void on_rtcp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override;
  void on_closed(webrtc::PeerConnection& pc, const std::string& reason) override;

 private:
  struct Located {
    size_t track;
    size_t layer;
    bool rtx;
  };
  // The (track, layer) of `tracks` (the stream's, or an incoming source's) a
  // packet belongs to, learning SSRCs from the rid extensions (simulcast) or
  // the payload types when the SDP had none.
  static std::optional<Located> locate(std::vector<PublishedTrack>& tracks, const RtpPacket& pkt);
  void cut_over(Timestamp now);
  void send_publisher_rtcp(Bytes& packet);
  void on_publisher_dlrr(const ExtendedReport& xr, Timestamp now);
  // Hands one video or audio packet (of source (track, layer)) to the
  // recording and every viewer of this worker.
  void deliver(size_t track, size_t layer, uint8_t* data, size_t size, bool keyframe,
               Timestamp now);
  void record(size_t track, size_t layer, uint8_t* data, size_t size, bool keyframe, Timestamp now);
  // A sender report of a source, to every viewer of this worker (each
  // rewrites it for the layer it follows) and the recording.
  void deliver_sender_report(size_t track, size_t layer, const SenderReport& sr, Timestamp now);
  // Origin: copies a packet to every relay that has viewers.
  void push_to_relays(uint8_t flags, const uint8_t* data, size_t size, Timestamp now);
  void send_feedback(Timestamp now);
  void update_recorded_layer(Timestamp now);

  // What is kept per source: one RTP stream of the publisher.
  struct Source {
    explicit Source(uint32_t clock_rate, size_t cache_slots)
        : stats(clock_rate), cache(cache_slots) {}
    RtpReceiveStats stats;
    NackGenerator nack;  // used where the publisher accepts NACKs
    DuplicateFilter seen;
    RetransmissionBuffer cache;  // video only (sized 0 for audio)
    KeyframeRequester keyframes;
    RateMeter rate;
    std::array<RateMeter, 3> temporal_rate;  // VP8 bytes by temporal layer id 0..2
    // What viewers saw last, so a new publisher continues from there.
    uint16_t seq_offset = 0;  // added to the publisher's sequence numbers
    uint32_t ts_offset = 0;   // added to the publisher's RTP timestamps
    bool rebase = false;      // compute the offsets at the next packet
    bool sent = false;
    uint16_t last_seq = 0;
    uint32_t last_ts = 0;
    Timestamp last_time{};
  };
  Source& source(size_t track, size_t layer) { return *sources_[track][layer]; }
  void reset_sources(size_t track);

  std::string name_, session_id_, started_at_, publisher_label_;
  bool pulled_ = false;
  Timestamp unwatched_since_{};
  int peak_viewers_ = 0;
  std::vector<PublishedTrack> tracks_;
  std::vector<std::vector<std::unique_ptr<Source>>> sources_;  // [track][layer]
  std::unique_ptr<webrtc::PeerConnection> publisher_;
  std::unique_ptr<webrtc::PeerConnection> next_publisher_;  // switching to it
  std::vector<PublishedTrack> next_tracks_;
  std::vector<std::unique_ptr<webrtc::PeerConnection>> retired_;  // closing former publishers
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
  std::shared_ptr<record::RecordingSink> recording_;
  // The recording follows one layer of each video track (the top one),
  // through its own rewriter: one continuous track across layer changes.
  std::vector<std::optional<VideoRewriter>> recorder_video_;
  Timestamp last_layer_check_{};
  std::vector<std::shared_ptr<RelayLink>> relays_;  // origin: relays on other workers
  std::shared_ptr<RelayLink> upstream_;             // relay: where the packets come from
  uint64_t relay_dropped_ = 0;                      // relay: ring drops already logged
  uint64_t duplicates_ = 0;
  uint64_t plis_sent_ = 0;
  TwccRecorder twcc_;
  uint32_t feedback_ssrc_;  // our SSRC as an RTCP sender toward the publisher
  Timestamp last_rr_{}, last_twcc_{}, last_remb_{}, last_switch_pli_{};
  // The publisher's round trip: our RRTRs answered by its DLRRs (RFC 3611).
  RttEstimator publisher_rtt_;
  // Packets waiting for the batch's end (flush_fanout), in arrival order.
  // Their data is the worker's receive buffer or the relay ring's slot,
  // both kept until then.
  struct Pending {
    uint8_t track, layer;
    bool keyframe;
    uint16_t size;
    uint8_t* data;
    Timestamp now;
  };
  static constexpr size_t kMaxPending = 64;  // then sent at once: a run's most
  std::array<Pending, kMaxPending> pending_{};
  size_t pending_count_ = 0;
  FanoutBatch* fanout_batch_ = nullptr;
  bool ended_ = false;
  bool use_twcc_ = false;
  bool switch_expected_ = false;
};

}  // namespace lss::sfu
