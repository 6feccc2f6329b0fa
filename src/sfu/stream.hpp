#pragma once
// One live stream: its publisher's peer, its tracks and its viewers. The
// publisher's packets are rewritten once to the stream's outbound SSRCs,
// cached for retransmission, and fanned out to every viewer; viewer feedback
// (NACK, PLI/FIR) is answered from the cache or merged toward the publisher.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "record/recording_service.hpp"
#include "rtp/nack_generator.hpp"
#include "rtp/receive_stats.hpp"
#include "rtp/retransmission_buffer.hpp"
#include "rtp/twcc_feedback_builder.hpp"
#include "sfu/keyframe_requester.hpp"
#include "sfu/subscriber.hpp"
#include "sfu/track.hpp"
#include "webrtc/peer_connection.hpp"

namespace lss::sfu {

struct StreamInfo {
  std::string name, session_id;
  std::string started_at;  // ISO 8601 UTC
  size_t viewers = 0;
  std::string video_codec, audio_codec;
};

class Stream : public webrtc::PeerConnection::Observer {
 public:
  Stream(std::string name, std::string session_id, std::vector<PublishedTrack> tracks);
  ~Stream() override;

  void attach_publisher(std::unique_ptr<webrtc::PeerConnection> pc) { publisher_ = std::move(pc); }
  webrtc::PeerConnection& publisher() { return *publisher_; }
  const std::string& name() const { return name_; }
  const std::string& session_id() const { return session_id_; }
  const std::vector<PublishedTrack>& tracks() const { return tracks_; }
  bool ended() const { return ended_; }
  void set_recording(std::shared_ptr<record::RecordingSink> sink) { recording_ = std::move(sink); }
  void set_publisher_label(std::string p) { publisher_label_ = std::move(p); }
  const std::string& publisher_label() const { return publisher_label_; }
  int peak_viewers() const { return peak_viewers_; }

  Subscriber& add_subscriber(std::unique_ptr<Subscriber> sub);
  std::vector<std::unique_ptr<Subscriber>>& subscribers() { return subscribers_; }
  // Removes closed viewers; calls `on_removed` for each before destroying it.
  void sweep_subscribers(const std::function<void(Subscriber&)>& on_removed);

  // Ends the stream: the publisher and every viewer get a DTLS close.
  void end(const std::string& reason);

  void request_keyframe() { keyframes_.request(); }
  // From a viewer: NACKed sequence numbers of `media_ssrc` (our outbound SSRC).
  void handle_nack(Subscriber& from, uint32_t media_ssrc, const std::vector<uint16_t>& seqs);
  void tick(Timestamp now);
  StreamInfo info() const;

  // PeerConnection::Observer (the publisher)
  void on_connected(webrtc::PeerConnection& pc, Timestamp now) override;
  void on_rtp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override;
  void on_rtcp(webrtc::PeerConnection& pc, uint8_t* data, size_t size, Timestamp now) override;
  void on_closed(webrtc::PeerConnection& pc, const std::string& reason) override;

 private:
  int track_index_for(uint32_t ssrc, uint8_t payload_type, bool& is_rtx);
  void send_publisher_rtcp(Bytes& packet);
  void send_feedback(Timestamp now);

  std::string name_, session_id_, started_at_, publisher_label_;
  int peak_viewers_ = 0;
  std::vector<PublishedTrack> tracks_;
  std::vector<RtpReceiveStats> receive_stats_;
  std::vector<NackGenerator> nack_;  // per track; used where the publisher accepts NACKs
  std::unique_ptr<webrtc::PeerConnection> publisher_;
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
  std::shared_ptr<record::RecordingSink> recording_;
  RetransmissionBuffer video_cache_;
  TwccRecorder twcc_;
  KeyframeRequester keyframes_;
  uint32_t feedback_ssrc_;  // our SSRC as an RTCP sender toward the publisher
  Timestamp last_rr_{}, last_twcc_{}, last_remb_{};
  bool ended_ = false;
  bool use_twcc_ = false;
};

}  // namespace lss::sfu
