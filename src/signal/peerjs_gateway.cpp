#include "signal/peerjs_gateway.hpp"

#include <spdlog/spdlog.h>

#include "common/random.hpp"
#include "sdp/session_description.hpp"
#include "signal/publish_auth.hpp"

namespace lss::signal {

struct PeerJsGateway::Call {
  std::string stream_id;
  uint64_t serial = 0;
  std::string socket_id;      // the app socket that asked (for stream-error)
  std::string streamer;       // the streamer's PeerJS id
  std::string connection_id;  // our media call to the streamer
  nlohmann::json metadata;
  std::shared_ptr<PeerJsClient> peer;
  std::unique_ptr<boost::asio::steady_timer> answer_timer;
  std::string pending_pull;  // the engine's pending call (offer sent, no answer yet)
  std::string session_id;    // the live stream's session
  bool offered = false, live = false;
  bool switching = false;                     // a clip-dance call to a new source is under way
  bool claim_open = false;                    // claimed the name (cluster), not yet settled
  std::vector<peerjs::Message> early_offers;  // viewers calling before the stream is live
  // Viewer PeerJS id -> its calls' connection ids -> engine session ids.
  std::map<std::string, std::map<std::string, std::string>> viewers;
};

PeerJsGateway::PeerJsGateway(boost::asio::io_context& io, Options options, EngineRouter& engines,
                             ControlPoster post_control, ErrorSink on_error)
    : io_(io),
      options_(std::move(options)),
      engines_(engines),
      post_(std::move(post_control)),
      on_error_(std::move(on_error)) {}

PeerJsGateway::~PeerJsGateway() {
  stop();
}

void PeerJsGateway::stop() {
  for (auto& [id, call] : calls_) {
    if (call->peer) call->peer->stop();
  }
  calls_.clear();
}

PeerJsGateway::Call* PeerJsGateway::find(const std::string& stream_id, uint64_t serial) {
  auto it = calls_.find(stream_id);
  return it != calls_.end() && it->second->serial == serial ? it->second.get() : nullptr;
}

std::string PeerJsGateway::viewer_peer_id(const std::string& stream_id) const {
  auto it = calls_.find(stream_id);
  return it == calls_.end() || !it->second->peer ? std::string() : it->second->peer->id();
}

void PeerJsGateway::start_stream(const std::string& socket_id, const std::string& streamer,
                                 const std::string& requested_id, const nlohmann::json& metadata,
                                 StartDone done) {
  if (!peerjs::valid_id(streamer)) {
    return done(std::nullopt, "start-stream needs peerId, the streamer's PeerJS id");
  }
  const std::string stream_id = requested_id.empty() ? random_hex(8) : requested_id;
  if (!valid_stream_name(stream_id)) {
    return done(std::nullopt, "invalid streamId: use 1 to 64 characters of A-Z a-z 0-9 _ -");
  }
  if (auto it = calls_.find(stream_id); it != calls_.end()) {
    Call& c = *it->second;
    if (!c.live || c.switching) {
      return done(std::nullopt, "stream '" + stream_id + "' is already starting");
    }
    // The original's clip dance: a new call for a live stream. The answer
    // becomes the stream's new source; viewers stay on the same PeerJS id.
    c.switching = true;
    c.socket_id = socket_id;
    c.streamer = streamer;
    c.metadata = metadata;
    c.connection_id = peerjs::new_connection_id();
    spdlog::info("peerjs: stream '{}': calling {} for a new source", stream_id, streamer);
    place_call(c, true);
    arm_answer_timer(c);
    return done(Started{stream_id, c.peer->id()}, "");
  }
  auto call = std::make_unique<Call>();
  call->stream_id = stream_id;
  call->serial = next_serial_++;
  call->socket_id = socket_id;
  call->streamer = streamer;
  call->metadata = metadata;
  call->connection_id = peerjs::new_connection_id();
  Call& c = *call;
  calls_[stream_id] = std::move(call);
  if (!options_.claims) return dial(c, done);
  // The cluster first: the call stays reserved here (a second start-stream
  // of the name is "already starting") while its name is claimed.
  const uint64_t serial = c.serial;
  options_.claims->claim(stream_id, [this, stream_id, serial, done](const StreamClaim& claim) {
    const bool ours = claim.outcome != StreamClaim::Outcome::kElsewhere;
    Call* c = find(stream_id, serial);
    if (!c) {  // stopped meanwhile
      if (ours) options_.claims->settle(stream_id, false);
      return done(std::nullopt, "stream '" + stream_id + "' was stopped while starting");
    }
    if (!ours) {
      forget(stream_id);
      return done(std::nullopt, live_elsewhere_reason(stream_id, claim));
    }
    c->claim_open = true;
    dial(*c, done);
  });
}

// Registers the stream's PeerJS peer; the call goes out once it is open.
void PeerJsGateway::dial(Call& c, const StartDone& done) {
  const std::string stream_id = c.stream_id;
  const uint64_t serial = c.serial;
  PeerJsClient::Handlers h;
  h.on_open = [this, stream_id, serial] {
    if (Call* c = find(stream_id, serial)) on_open(*c);
  };
  h.on_message = [this, stream_id, serial](const peerjs::Message& m) {
    if (Call* c = find(stream_id, serial)) on_message(*c, m);
  };
  h.on_fatal = [this, stream_id, serial](const std::string& why) {
    if (!find(stream_id, serial)) return;
    fail(stream_id, "the PeerJS server refused the server's peer: " + why);
  };
  c.peer = PeerJsClient::create(io_, options_.server, peerjs::server_id_for_stream(stream_id),
                                std::move(h), options_.timing);
  c.peer->start();
  arm_answer_timer(c);
  spdlog::info("peerjs: stream '{}': calling streamer {} as {}", stream_id, c.streamer,
               c.peer->id());
  done(Started{stream_id, c.peer->id()}, "");
}

void PeerJsGateway::arm_answer_timer(Call& c) {
  const std::string stream_id = c.stream_id;
  const uint64_t serial = c.serial;
  const std::string connection_id = c.connection_id;
  if (!c.answer_timer) c.answer_timer = std::make_unique<boost::asio::steady_timer>(io_);
  c.answer_timer->expires_after(options_.answer_timeout);
  c.answer_timer->async_wait([this, stream_id, serial,
                              connection_id](const boost::system::error_code& ec) {
    Call* c = ec ? nullptr : find(stream_id, serial);
    if (!c || c->connection_id != connection_id || (c->live && !c->switching)) return;
    fail_call(*c,
              c->peer->registered()
                  ? "the streamer " + c->streamer + " did not answer the call"
                  : "cannot reach the PeerJS server at " + options_.server.host + ":" +
                        std::to_string(options_.server.port) +
                        (c->peer->last_error().empty() ? "" : " (" + c->peer->last_error() + ")"));
  });
}

void PeerJsGateway::on_open(Call& call) {
  if (call.offered) return;  // a reconnect: the call is placed already
  call.offered = true;
  place_call(call, false);
}

void PeerJsGateway::place_call(Call& call, bool switch_source) {
  const std::string stream_id = call.stream_id, connection_id = call.connection_id;
  const uint64_t serial = call.serial;
  engines_.run_for_new_stream(
      stream_id, [this, stream_id, serial, connection_id, switch_source](sfu::Engine& engine) {
        auto r = engine.prepare_pull(stream_id, Clock::now(), switch_source);
        post_([this, stream_id, serial, connection_id, r = std::move(r)] {
          Call* c = find(stream_id, serial);
          if (!c || c->connection_id != connection_id) return;
          if (const auto* f = std::get_if<sfu::Failure>(&r)) return fail_call(*c, f->reason);
          const auto& offer = std::get<sfu::PullOffered>(r);
          c->pending_pull = offer.session_id;
          c->peer->send(peerjs::offer(c->streamer, c->connection_id, offer.offer_sdp, c->metadata));
        });
      });
}

// A failed call ends a stream that was starting; a failed source switch
// only reports, and the stream goes on from its current source.
void PeerJsGateway::fail_call(Call& c, const std::string& message) {
  if (!c.pending_pull.empty()) {
    const std::string session = c.pending_pull;
    engines_.run_for_stream(c.stream_id, [session](sfu::Engine& e) { e.cancel_pull(session); });
    c.pending_pull.clear();
  }
  if (!c.live) return fail(c.stream_id, message);
  c.switching = false;
  spdlog::warn("peerjs: stream '{}': source switch failed: {}", c.stream_id, message);
  if (on_error_) on_error_(c.socket_id, c.stream_id, message);
}

void PeerJsGateway::on_message(Call& call, const peerjs::Message& m) {
  switch (m.type) {
    case peerjs::Type::kAnswer:
      if (m.src == call.streamer && m.connection_id == call.connection_id) on_answer(call, m);
      return;
    case peerjs::Type::kOffer:
      if (m.connection_type != "media") {
        spdlog::info("peerjs {}: ignoring a {} connection from {} (only media calls)",
                     call.peer->id(), m.connection_type, m.src);
        return;
      }
      return on_viewer_offer(call, m);
    case peerjs::Type::kExpire:
      if (m.src == call.streamer && (!call.live || call.switching)) {
        fail_call(call, "the streamer " + call.streamer + " is not on the PeerJS server");
      }
      return;
    case peerjs::Type::kLeave: {
      const std::string stream_id = call.stream_id;
      if (m.src == call.streamer && call.live) {
        const std::string session = call.session_id;
        engines_.run_for_stream(stream_id, [stream_id, session](sfu::Engine& e) {
          e.end_session(stream_id, session, true);
        });
        return;
      }
      auto viewer = call.viewers.extract(m.src);
      if (viewer.empty()) return;
      // A viewer's calls may sit on different workers: each goes to its own.
      for (const auto& entry : viewer.mapped()) {
        const auto& session = entry.second;  // a plain name: clang 14 cannot capture a binding
        engines_.run_for_session(stream_id, session, [stream_id, session](sfu::Engine& e) {
          e.end_session(stream_id, session, false);
        });
      }
      return;
    }
    default:
      return;  // CANDIDATE: an ICE-lite server needs none (the browser checks)
  }
}

void PeerJsGateway::on_answer(Call& call, const peerjs::Message& m) {
  if (call.pending_pull.empty()) return;
  auto answer = sdp::parse_sdp(m.sdp);
  if (!answer.ok()) {
    return fail_call(call, "the streamer's answer is not valid SDP: " + answer.error().message);
  }
  const std::string stream_id = call.stream_id, session = call.pending_pull,
                    streamer = call.streamer, connection_id = call.connection_id;
  call.pending_pull.clear();
  const uint64_t serial = call.serial;
  engines_.run_for_stream(stream_id, [this, stream_id, serial, session, streamer, connection_id,
                                      sd = std::move(answer.value())](sfu::Engine& engine) {
    auto r = engine.complete_pull(session, sd, Clock::now(), "peerjs:" + streamer);
    post_([this, stream_id, serial, connection_id, r = std::move(r)] {
      Call* c = find(stream_id, serial);
      if (!c || c->connection_id != connection_id) return;
      if (const auto* f = std::get_if<sfu::Failure>(&r)) return fail_call(*c, f->reason);
      c->answer_timer->cancel();
      if (c->live) {
        c->switching = false;  // the new source takes over at its first keyframe
        return;
      }
      c->live = true;
      if (c->claim_open) options_.claims->settle(stream_id, true);
      c->claim_open = false;
      c->session_id = std::get<sfu::SessionCreated>(r).session_id;
      auto early = std::move(c->early_offers);
      for (const auto& o : early) on_viewer_offer(*c, o);
    });
  });
}

void PeerJsGateway::on_viewer_offer(Call& call, const peerjs::Message& m) {
  if (!call.live) {
    if (call.early_offers.size() < 64) call.early_offers.push_back(m);
    return;
  }
  auto offer = sdp::parse_sdp(m.sdp);
  if (!offer.ok()) {
    spdlog::warn("peerjs {}: bad offer from {}: {}", call.peer->id(), m.src, offer.error().message);
    return;
  }
  const std::string stream_id = call.stream_id, src = m.src, connection_id = m.connection_id;
  const uint64_t serial = call.serial;
  engines_.run_for_viewer(stream_id, [this, stream_id, serial, src, connection_id,
                                      sd = std::move(offer.value())](sfu::Engine& engine) {
    auto r = engine.subscribe(stream_id, sd, Clock::now());
    post_([this, stream_id, serial, src, connection_id, r = std::move(r)] {
      Call* c = find(stream_id, serial);
      if (!c) return;
      if (const auto* f = std::get_if<sfu::Failure>(&r)) {
        spdlog::warn("peerjs {}: cannot serve {}: {}", c->peer->id(), src, f->reason);
        return;
      }
      const auto& created = std::get<sfu::SessionCreated>(r);
      c->viewers[src][connection_id] = created.session_id;
      c->peer->send(peerjs::answer(src, connection_id, created.answer_sdp));
      spdlog::info("peerjs {}: viewer {} joins stream '{}'", c->peer->id(), src, stream_id);
    });
  });
}

void PeerJsGateway::fail(std::string stream_id, std::string message) {
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) return;
  Call& c = *it->second;
  spdlog::warn("peerjs: stream '{}': {}", stream_id, message);
  if (!c.pending_pull.empty()) {
    const std::string session = c.pending_pull;
    engines_.run_for_stream(stream_id, [session](sfu::Engine& e) { e.cancel_pull(session); });
  }
  const std::string socket_id = c.socket_id;
  forget(stream_id);
  if (on_error_) on_error_(socket_id, stream_id, message);
}

void PeerJsGateway::stream_ended(const std::string& stream_id) {
  if (calls_.count(stream_id)) forget(stream_id);
}

void PeerJsGateway::forget(const std::string& stream_id) {
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) return;
  Call& c = *it->second;
  // LEAVE closes the far ends' PeerJS connections with us at once, rather
  // than after their ICE consent runs out.
  if (c.peer && c.peer->registered()) {
    c.peer->send(peerjs::leave(c.streamer));
    for (const auto& [viewer, calls] : c.viewers) c.peer->send(peerjs::leave(viewer));
  }
  if (c.answer_timer) c.answer_timer->cancel();
  if (c.claim_open) options_.claims->settle(stream_id, false);  // it never went live
  // Give the LEAVEs a moment to go out before the socket closes.
  auto peer = c.peer;
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(200));
  timer->async_wait([peer, timer](const boost::system::error_code&) {
    if (peer) peer->stop();
  });
  calls_.erase(it);
}

}  // namespace lss::signal
