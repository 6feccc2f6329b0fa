#include "sfu/engine.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "common/random.hpp"
#include "sdp/candidates.hpp"
#include "sdp/pull_offer.hpp"
#include "sdp/sdp_writer.hpp"
#include "sfu/session_etag.hpp"
#include "stun/stun_message.hpp"

namespace lss::sfu {

namespace {
PublishedTrack make_track(const sdp::NegotiatedTrack& n) {
  PublishedTrack t;
  t.negotiated = n;
  t.video = n.kind == sdp::NegotiatedTrack::kVideo;
  if (t.video) t.video_codec = codec::video_codec_from_name(n.codec.name);
  if (n.rids.empty()) {
    t.layers.push_back({"", n.ssrcs.empty() ? 0 : n.ssrcs.front(), n.rtx_ssrc.value_or(0)});
  } else {
    for (const auto& rid : n.rids) t.layers.push_back({rid, 0, 0});
  }
  t.out_ssrc = random_u32() | 1;  // never 0: 0 means "unknown" elsewhere
  if (t.video) t.out_rtx_ssrc = random_u32() | 1;
  for (const auto& e : n.extensions) {
    if (e.uri == sdp::kUriTwcc) t.twcc_ext_id = e.id;
    if (e.uri == sdp::kUriRid) t.rid_ext_id = e.id;
    if (e.uri == sdp::kUriRepairedRid) t.repaired_rid_ext_id = e.id;
  }
  return t;
}
std::vector<PublishedTrack> make_tracks(const sdp::PublishAnswer& answer) {
  std::vector<PublishedTrack> tracks;
  for (const auto& n : answer.tracks) tracks.push_back(make_track(n));
  return tracks;
}

// The data channel of a pulled publisher's answer: we offered it, so we open
// the channel and PeerJS attaches to it. WHIP answers have none.
std::optional<webrtc::DataChannelConfig> publisher_data_channel(const sdp::PublishAnswer& answer) {
  if (!answer.data_channel) return std::nullopt;
  return webrtc::DataChannelConfig{sdp::kSctpPort, answer.data_channel->remote_port, true, "lss"};
}
}  // namespace

Engine::Engine(std::shared_ptr<DtlsCertificate> cert, SendFn send, EngineOptions options)
    : cert_(std::move(cert)), send_(std::move(send)), options_(std::move(options)) {}

Engine::~Engine() {
  shutdown();
}

sdp::LocalTransport Engine::new_local_transport() const {
  sdp::LocalTransport local;
  local.ice_ufrag = random_ice_chars(8);
  local.ice_pwd = random_ice_chars(24);
  local.fingerprint_sha256 = cert_->fingerprint_sha256();
  local.candidates = options_.candidates;
  local.tcp_candidates = options_.tcp_candidates;
  return local;
}

std::string Engine::new_session_id() const {
  return fmt::format("{:02x}", options_.worker_index) + random_hex(11);
}

std::optional<size_t> Engine::worker_of_session(std::string_view id) {
  uint8_t worker = 0;
  if (id.size() < 2) return std::nullopt;
  auto [end, ec] = std::from_chars(id.data(), id.data() + 2, worker, 16);
  if (ec != std::errc() || end != id.data() + 2) return std::nullopt;
  return worker;
}

Stream* Engine::live_stream(const std::string& name) {
  auto it = streams_.find(name);
  if (it == streams_.end()) return nullptr;
  if (it->second->origin_ended()) it->second->end("the stream ended");
  if (!it->second->ended()) return it->second.get();
  remove_stream(it);
  return nullptr;
}

void Engine::viewer_left(const Stream& stream, const Subscriber& sub) {
  auto it = viewer_remotes_.find(sub.session_id());
  if (it == viewer_remotes_.end()) return;
  const std::string remote = std::move(it->second);
  viewer_remotes_.erase(it);
  options_.on_viewer_event(
      {ViewerEvent::Kind::kLeft, stream.name(), stream.session_id(), sub.session_id(), remote});
}

Engine::StreamMap::iterator Engine::remove_stream(StreamMap::iterator it) {
  Stream& s = *it->second;
  // Its viewers leave before it ends, in the events too.
  for (auto& sub : s.subscribers()) viewer_left(s, *sub);
  if (!s.is_relay()) {
    if (!s.pulled()) options_.live_streams->fetch_sub(1, std::memory_order_relaxed);
    spdlog::info("stream '{}' ended", s.name());
    if (options_.on_stream_event) {
      options_.on_stream_event(
          {StreamEvent::Kind::kEnded, s.info(), s.publisher_label(), s.peak_viewers()});
    }
  }
  keep_stream_totals(s);
  for (auto& sub : s.subscribers()) forget_peer(sub->peer());
  s.for_each_publisher_peer([this](webrtc::PeerConnection& pc) { forget_peer(pc); });
  std::erase(relays_here_, &s);
  return streams_.erase(it);
}

std::optional<RelaySource> Engine::attach_relay(const std::string& name,
                                                std::shared_ptr<RelayLink> link) {
  Stream* stream = live_stream(name);
  if (!stream || stream->is_relay()) return std::nullopt;
  stream->add_relay(std::move(link));
  return RelaySource{stream->session_id(), stream->tracks()};
}

bool Engine::add_relay(const std::string& name, RelaySource source,
                       std::shared_ptr<RelayLink> link) {
  if (Stream* existing = live_stream(name)) {
    if (!existing->is_relay()) {
      link->relay_gone.store(true, std::memory_order_release);
      return false;
    }
    // A relay of an earlier stream of that name whose end has not reached
    // us yet: the new stream replaces it.
    existing->end("replaced by a newer stream");
    remove_stream(streams_.find(name));
  }
  auto stream =
      std::make_unique<Stream>(name, std::move(source.session_id), std::move(source.tracks), link);
  stream->set_fanout_batch(&fanout_);
  relays_here_.push_back(stream.get());
  streams_[name] = std::move(stream);
  spdlog::debug("stream '{}': relay for viewers on this worker", name);
  return true;
}

void Engine::drain_relays(Timestamp now, Timestamp& arrival) {
  for (Stream* s : relays_here_) s->drain_upstream(now, arrival);
}

std::unique_ptr<webrtc::PeerConnection> Engine::make_peer(
    const sdp::LocalTransport& local, const sdp::RemoteTransport& remote,
    webrtc::PeerConnection::Observer& observer, Timestamp now,
    std::optional<webrtc::DataChannelConfig> dc, std::shared_ptr<void> hold,
    std::optional<webrtc::PeerConfig::Controlling> controlling) {
  webrtc::PeerConfig cfg;
  cfg.local_ufrag = local.ice_ufrag;
  cfg.local_pwd = local.ice_pwd;
  cfg.remote_ufrag = remote.ice_ufrag;
  cfg.dtls_client = remote.our_role == sdp::DtlsRole::kClient;
  cfg.remote_fingerprint_algorithm = remote.fingerprint_algorithm;
  cfg.remote_fingerprint = remote.fingerprint_value;
  cfg.consent_timeout = options_.consent_timeout;
  cfg.data_channel = std::move(dc);
  cfg.controlling = std::move(controlling);
  auto pc = std::make_unique<webrtc::PeerConnection>(cfg, cert_, *this, observer, now);
  by_ufrag_[local.ice_ufrag] = pc.get();
  // Answers to our checks carry no ufrag of ours: they find the peer by
  // where they come from (a link's addresses are this peer's alone).
  if (cfg.controlling) {
    for (const auto& c : cfg.controlling->candidates) by_address_[c] = pc.get();
  }
  if (hold) holds_.emplace(pc.get(), std::move(hold));
  update_peer_count();
  return pc;
}

std::optional<Failure> Engine::over_limit(bool new_stream, const Stream* stream) const {
  if (options_.max_peers && peer_count() >= options_.max_peers)
    return Failure{503, "this media worker is full (" + std::to_string(options_.max_peers) +
                            " peers): try again shortly"};
  if (new_stream && options_.max_streams &&
      options_.live_streams->load(std::memory_order_relaxed) >= options_.max_streams)
    return Failure{503, "the server is at its limit of " + std::to_string(options_.max_streams) +
                            " live streams"};
  if (stream && options_.max_viewers_per_stream &&
      size_t(stream->viewer_count()) >= options_.max_viewers_per_stream)
    return Failure{503, "stream '" + stream->name() + "' is at its limit of " +
                            std::to_string(options_.max_viewers_per_stream) + " viewers"};
  return std::nullopt;
}

std::variant<SessionCreated, Failure> Engine::publish(const std::string& name,
                                                      const sdp::SessionDescription& offer,
                                                      Timestamp now, const std::string& publisher,
                                                      std::shared_ptr<void> hold) {
  if (live_stream(name)) return Failure{409, "stream '" + name + "' is already live"};
  if (auto full = over_limit(true, nullptr)) return *full;
  const auto local = new_local_transport();
  auto answer = sdp::answer_publish(offer, local);
  if (!answer.ok()) return Failure{answer.error().status, answer.error().reason};

  return start_stream(name, new_session_id(), local, answer.value(), now, publisher,
                      std::move(hold));
}

SessionCreated Engine::start_stream(const std::string& name, const std::string& session_id,
                                    const sdp::LocalTransport& local,
                                    const sdp::PublishAnswer& answer, Timestamp now,
                                    const std::string& publisher, std::shared_ptr<void> hold,
                                    std::optional<webrtc::PeerConfig::Controlling> from_node) {
  auto stream = std::make_unique<Stream>(name, session_id, make_tracks(answer));
  stream->set_fanout_batch(&fanout_);
  if (from_node) {
    stream->set_pulled();  // its own node records it
  } else if (options_.start_recording) {
    stream->set_recording(options_.start_recording(name, session_id, stream->tracks()));
  }
  stream->attach_publisher(make_peer(local, answer.remote, *stream, now,
                                     publisher_data_channel(answer), std::move(hold),
                                     std::move(from_node)));
  if (stream->pulled()) {
    spdlog::info("stream '{}': pulled from its node, session {}", name, session_id);
  } else {
    spdlog::info("stream '{}': publisher session {} created", name, session_id);
  }
  stream->set_publisher_label(publisher);
  if (options_.on_stream_event) {
    options_.on_stream_event({StreamEvent::Kind::kStarted, stream->info(), publisher, 0});
  }
  // A pulled stream is its own node's: not counted against MAX_STREAMS here.
  if (!stream->pulled()) options_.live_streams->fetch_add(1, std::memory_order_relaxed);
  streams_[name] = std::move(stream);
  return SessionCreated{session_id, answer.sdp, session_etag(session_id, local.ice_ufrag)};
}

std::variant<PullOffered, Failure> Engine::prepare_pull(const std::string& name, Timestamp now,
                                                        bool switch_source, PullFrom from) {
  if (from == PullFrom::kNode && (switch_source || !options_.open_link)) {
    return Failure{501, "this worker cannot pull streams from other nodes"};
  }
  Stream* live = live_stream(name);
  if (live && (!switch_source || live->is_relay())) {
    return Failure{409, "stream '" + name + "' is already live"};
  }
  for (const auto& [id, p] : pulls_) {
    if (p.stream == name) return Failure{409, "stream '" + name + "' is already being called"};
  }
  PendingPull pull{name, new_local_transport(), now, switch_source, from};
  if (live) live->expect_switch(true);
  // A node's WHEP has no data channel to hang up with (DTLS close_notify
  // does), and we run the ICE checks toward it.
  const std::string offer =
      from == PullFrom::kNode
          ? sdp::offer_pull(pull.local, {.data_channel = false, .ice_lite = false})
          : sdp::offer_pull(pull.local, {.data_channel = true});
  const std::string session_id = new_session_id();
  pulls_.emplace(session_id, std::move(pull));
  return PullOffered{session_id, offer};
}

std::variant<SessionCreated, Failure> Engine::complete_pull(const std::string& session_id,
                                                            const sdp::SessionDescription& answer,
                                                            Timestamp now,
                                                            const std::string& publisher) {
  auto it = pulls_.find(session_id);
  if (it == pulls_.end()) return Failure{404, "no pending call " + session_id};
  PendingPull pull = std::move(it->second);
  pulls_.erase(it);
  auto live = streams_.find(pull.stream);
  if (live != streams_.end()) live->second->expect_switch(false);
  if (live != streams_.end() && (!pull.switch_source || live->second->is_relay())) {
    return Failure{409, "stream '" + pull.stream + "' is already live"};
  }
  auto negotiated = sdp::accept_pull_answer(answer, pull.local);
  if (!negotiated.ok()) return Failure{negotiated.error().status, negotiated.error().reason};
  if (pull.from == PullFrom::kNode) {
    auto candidates = sdp::udp_candidates(answer);
    if (candidates.empty()) return Failure{502, "the node's answer has no UDP candidate"};
    const auto link = options_.open_link();
    if (!link) return Failure{503, "no socket for a link to the node (out of descriptors?)"};
    webrtc::PeerConfig::Controlling ice;
    ice.remote_pwd = negotiated->remote.ice_pwd;
    for (auto c : candidates) {
      c.link = *link;
      ice.candidates.push_back(c);
    }
    ice.consent = {options_.node_link_consent_interval, options_.node_link_consent_timeout};
    auto created = start_stream(pull.stream, session_id, pull.local, negotiated.value(), now,
                                publisher, {}, std::move(ice));
    links_[streams_.at(pull.stream)->publisher_peer()] = *link;
    return created;
  }
  if (live == streams_.end()) {
    return start_stream(pull.stream, session_id, pull.local, negotiated.value(), now, publisher);
  }
  // The clip dance: the answer is the live stream's new source. The tracks
  // are checked before the peer exists, so a refusal leaves nothing behind.
  Stream& stream = *live->second;
  if (stream.ended()) return Failure{409, "stream '" + pull.stream + "' is ending"};
  auto lined = stream.line_up(make_tracks(negotiated.value()));
  if (!lined.ok()) return Failure{406, lined.error().message};
  stream.begin_switch(make_peer(pull.local, negotiated->remote, stream, now,
                                publisher_data_channel(negotiated.value())),
                      std::move(lined.value()));
  return SessionCreated{stream.session_id(), "", ""};
}

std::variant<SessionCreated, Failure> Engine::subscribe(const std::string& name,
                                                        const sdp::SessionDescription& offer,
                                                        Timestamp now, const std::string& viewer,
                                                        int max_layer, std::shared_ptr<void> hold) {
  auto it = streams_.find(name);
  if (it == streams_.end() || it->second->ended()) {
    return Failure{404, "stream '" + name + "' is not live"};
  }
  Stream& stream = *it->second;
  if (auto full = over_limit(false, &stream)) return *full;
  const auto local = new_local_transport();

  std::vector<sdp::NegotiatedTrack> published;
  sdp::SubscribeOptions opts;
  opts.stream_id = name;
  opts.cname = "lss-" + name;
  for (const auto& t : stream.tracks()) {
    published.push_back(t.negotiated);
    if (t.video) {
      opts.video_ssrc = t.out_ssrc;
      opts.video_rtx_ssrc = t.out_rtx_ssrc;
    } else {
      opts.audio_ssrc = t.out_ssrc;
    }
  }
  auto answer = sdp::answer_subscribe(offer, local, published, opts);
  if (!answer.ok()) return Failure{answer.error().status, answer.error().reason};

  std::vector<Subscriber::TrackMapping> mappings(stream.tracks().size());
  for (const auto& st : answer->tracks) {
    for (size_t i = 0; i < stream.tracks().size(); ++i) {
      if (stream.tracks()[i].negotiated.mid != st.published_mid) continue;
      auto& m = mappings[i];
      m.active = true;
      m.payload_type = st.payload_type;
      m.rtx_payload_type = st.rtx_payload_type.value_or(0);
      m.rtx_ssrc = st.rtx_ssrc;
      m.twcc_ext_id = st.twcc_ext_id;
      m.extension_map = st.extension_map;
      for (size_t id = 1; id < 256; ++id) {
        if (m.extension_map[id] != id) m.remap_extensions = true;
      }
    }
  }
  const std::string session_id = new_session_id();
  auto sub = std::make_unique<Subscriber>(session_id, stream, std::move(mappings));
  std::optional<webrtc::DataChannelConfig> dc;
  if (answer->data_channel) {
    dc = webrtc::DataChannelConfig{sdp::kSctpPort, answer->data_channel->remote_port, false, ""};
  }
  sub->attach(make_peer(local, answer->remote, *sub, now, dc, std::move(hold)));
  sub->set_http_remote(viewer);
  sub->set_max_layer(max_layer);
  sub->set_pacing(bool(options_.send_at));
  stream.add_subscriber(std::move(sub));
  spdlog::info("stream '{}': viewer session {} created ({} viewers)", name, session_id,
               stream.subscribers().size());
  if (options_.on_viewer_event) {
    viewer_remotes_[session_id] = viewer;
    options_.on_viewer_event(
        {ViewerEvent::Kind::kJoined, name, stream.session_id(), session_id, viewer});
  }
  return SessionCreated{session_id, answer->sdp, session_etag(session_id, local.ice_ufrag)};
}

bool Engine::end_session(const std::string& name, const std::string& session_id, bool publisher,
                         const std::string& reason) {
  auto it = streams_.find(name);
  if (it == streams_.end()) return false;
  Stream& stream = *it->second;
  if (publisher) {
    // An ended stream lingers until the next tick: its session is gone already.
    if (stream.is_relay() || stream.session_id() != session_id || stream.ended()) return false;
    stream.end(reason.empty() ? "publisher deleted the session" : reason);
    // The address's place is free now, not at the next tick's sweep: a
    // client that ends one session and opens another is not refused.
    stream.for_each_publisher_peer([this](webrtc::PeerConnection& pc) { holds_.erase(&pc); });
    return true;
  }
  for (auto& sub : stream.subscribers()) {
    if (sub->session_id() == session_id && !sub->closed()) {
      sub->peer().close(reason.empty() ? "viewer deleted the session" : reason);
      holds_.erase(&sub->peer());
      return true;
    }
  }
  return false;
}

webrtc::PeerConnection* Engine::session_peer(const std::string& name, const std::string& session_id,
                                             bool publisher) {
  auto it = streams_.find(name);
  if (it == streams_.end() || it->second->ended()) return nullptr;
  Stream& stream = *it->second;
  webrtc::PeerConnection* pc = nullptr;
  if (publisher) {
    if (!stream.is_relay() && stream.session_id() == session_id) pc = stream.publisher_peer();
  } else {
    for (auto& sub : stream.subscribers()) {
      if (sub->session_id() == session_id && !sub->closed()) pc = &sub->peer();
    }
  }
  return pc && pc->state() != webrtc::PeerConnection::State::kClosed ? pc : nullptr;
}

std::optional<SessionIce> Engine::session_ice(const std::string& stream,
                                              const std::string& session_id, bool publisher) {
  webrtc::PeerConnection* pc = session_peer(stream, session_id, publisher);
  if (!pc) return std::nullopt;
  return SessionIce{session_etag(session_id, pc->local_ufrag()), pc->remote_ufrag(),
                    pc->ice_restart_pending()};
}

std::variant<IceRestarted, Failure> Engine::restart_ice(const std::string& stream,
                                                        const std::string& session_id,
                                                        bool publisher,
                                                        const std::string& remote_ufrag) {
  webrtc::PeerConnection* pc = session_peer(stream, session_id, publisher);
  if (!pc) return Failure{404, "unknown session"};
  auto local = new_local_transport();
  if (auto o = old_ufrags_.find(pc); o == old_ufrags_.end()) {
    old_ufrags_.emplace(pc, pc->local_ufrag());  // in use: answered until the restart completes
  } else {
    by_ufrag_.erase(pc->local_ufrag());  // a pending restart's, never used: superseded
  }
  pc->restart_ice(local.ice_ufrag, local.ice_pwd, remote_ufrag);
  by_ufrag_[local.ice_ufrag] = pc;
  update_peer_count();
  spdlog::info("stream '{}': {} session {} ICE restart", stream, publisher ? "publisher" : "viewer",
               session_id);
  return IceRestarted{session_etag(session_id, local.ice_ufrag), std::move(local)};
}

std::vector<StreamInfo> Engine::streams(Timestamp now) const {
  std::vector<StreamInfo> out;
  for (const auto& [name, s] : streams_) {
    if (!s->ended() && !s->is_relay() && !s->pulled()) out.push_back(s->info(now));
  }
  return out;
}

std::vector<StreamInfo> Engine::pulled_streams() const {
  std::vector<StreamInfo> out;
  for (const auto& [name, s] : streams_) {
    if (!s->ended() && s->pulled()) out.push_back(s->info());
  }
  return out;
}

std::vector<ViewerStats> Engine::viewer_stats(const std::string& stream) const {
  std::vector<ViewerStats> out;
  for (const auto& [name, s] : streams_) {
    if (!stream.empty() && name != stream) continue;
    for (const auto& sub : s->subscribers()) {
      if (!sub->closed()) out.push_back(sub->stats());
    }
  }
  return out;
}

void Engine::cancel_pull(const std::string& session_id) {
  auto it = pulls_.find(session_id);
  if (it == pulls_.end()) return;
  if (auto live = streams_.find(it->second.stream); live != streams_.end()) {
    live->second->expect_switch(false);
  }
  pulls_.erase(it);
}

void Engine::shutdown() {
  for (auto& [name, s] : streams_) s->end("server shutting down");
  for (const auto& [pc, link] : links_) {
    if (options_.close_link) options_.close_link(link);
  }
  links_.clear();
  relays_here_.clear();
  streams_.clear();
  by_ufrag_.clear();
  by_address_.clear();
  old_ufrags_.clear();
  peer_count_.store(0, std::memory_order_relaxed);
}

webrtc::PeerConnection* Engine::peer_for_address(const SocketAddress& a) {
  auto it = by_address_.find(a);
  return it == by_address_.end() ? nullptr : it->second;
}

void Engine::forget_peer(webrtc::PeerConnection& pc) {
  keep_peer_totals(pc);  // every peer leaves through here, once
  holds_.erase(&pc);
  if (auto l = links_.find(&pc); l != links_.end()) {
    if (options_.close_link) options_.close_link(l->second);
    links_.erase(l);
  }
  by_ufrag_.erase(pc.local_ufrag());
  if (auto o = old_ufrags_.find(&pc); o != old_ufrags_.end()) {
    by_ufrag_.erase(o->second);
    old_ufrags_.erase(o);
  }
  update_peer_count();
  for (auto it = by_address_.begin(); it != by_address_.end();) {
    it = it->second == &pc ? by_address_.erase(it) : std::next(it);
  }
}

void Engine::handle_datagram(uint8_t* data, size_t size, const SocketAddress& from, Timestamp now) {
  if (size == 0) return;
  if (data[0] <= 3) {
    // STUN: find the peer by the ufrag the browser addresses us with; a valid
    // check also (re)binds its source address to that peer.
    auto ufrag = stun_local_ufrag(ByteSpan(data, size));
    if (!ufrag) {
      // An answer (success or error) to a check of ours (a pull from a
      // node) has no ufrag: it goes by its source. Requests without one
      // stay dropped, unanswered.
      const auto cls = stun_message_class(ByteSpan(data, size));
      if (cls != StunClass::kSuccess && cls != StunClass::kError) return;
      if (auto* pc = peer_for_address(from)) pc->handle_datagram(data, size, from, now);
      return;
    }
    auto it = by_ufrag_.find(*ufrag);
    if (it == by_ufrag_.end()) return;
    webrtc::PeerConnection* pc = it->second;
    if (pc->handle_datagram(data, size, from, now)) {
      by_address_[from] = pc;
      after_valid_check(*pc);
    }
    return;
  }
  if (auto* pc = peer_for_address(from)) pc->handle_datagram(data, size, from, now);
}

void Engine::after_valid_check(webrtc::PeerConnection& pc) {
  if (auto gone = pc.take_forgotten_address()) {
    if (auto a = by_address_.find(*gone); a != by_address_.end() && a->second == &pc) {
      by_address_.erase(a);
    }
  }
  if (old_ufrags_.empty() || pc.ice_restart_pending()) return;
  if (auto o = old_ufrags_.find(&pc); o != old_ufrags_.end()) {
    // The restart completed: the old credentials no longer reach this peer.
    by_ufrag_.erase(o->second);
    old_ufrags_.erase(o);
    update_peer_count();
  }
}

void Engine::tick(Timestamp now) {
  for (auto it = pulls_.begin(); it != pulls_.end();) {
    if (now - it->second.created > kPullTimeout) {
      cancel_pull(std::string(it++->first));
    } else {
      ++it;
    }
  }
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream& s = *it->second;
    s.for_each_publisher_peer([now](webrtc::PeerConnection& pc) { pc.tick(now); });
    for (auto& sub : s.subscribers()) sub->peer().tick(now);
    if (s.orphaned() && !s.ended()) s.end("the publisher left and no new source came");
    if (s.pulled() && !s.ended() && s.unwatched_for(now) >= kPulledLinger) {
      s.end("no viewer here any more: the pull from its node ends");
    }
    s.tick(now);
    s.sweep_subscribers([this, &s](Subscriber& sub) {
      viewer_left(s, sub);
      keep_viewer_totals(sub);
      forget_peer(sub.peer());
    });
    s.sweep_publishers([this](webrtc::PeerConnection& pc) { forget_peer(pc); });
    it = s.ended() ? remove_stream(it) : std::next(it);
  }
}

}  // namespace lss::sfu
