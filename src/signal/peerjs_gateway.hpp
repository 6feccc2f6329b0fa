#pragma once
// The original app's PeerJS flow on top of the SFU. For every stream started
// with Socket.IO `start-stream` the server registers its own PeerJS id on
// the PeerJS server (one id per stream, as the original's one headless
// browser per stream had), calls the streamer's id with an offer to receive
// audio and video, and takes the answer's media as the stream's publisher.
// Viewers call that id with a placeholder stream and get the live stream in
// the answer. Runs on the control thread; the engine work is posted to the
// media worker and its results posted back.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "signal/engine_router.hpp"
#include "signal/peerjs_client.hpp"
#include "signal/stream_claims.hpp"

namespace lss::signal {

class PeerJsGateway {
 public:
  // Runs `fn` on the control thread (the gateway's own).
  using ControlPoster = std::function<void(std::function<void()>)>;
  struct Started {
    std::string stream_id, viewer_peer_id;
  };
  // Once per start-stream: the call was placed (Started) or refused (error).
  using StartDone = std::function<void(const std::optional<Started>&, const std::string& error)>;
  // A stream that was being started failed later (no answer, peer gone, ...).
  using ErrorSink = std::function<void(const std::string& socket_id, const std::string& stream_id,
                                       const std::string& message)>;

  struct Options {
    PeerJsServer server;
    std::chrono::milliseconds answer_timeout{30000};
    PeerJsTiming timing;
    // Cluster mode: a new stream first claims its name (refused when it is
    // live on another node). Null: no claims. Outlives the gateway.
    StreamClaims* claims = nullptr;
  };

  // `engines` outlives the gateway.
  PeerJsGateway(boost::asio::io_context& io, Options options, EngineRouter& engines,
                ControlPoster post_control, ErrorSink on_error);
  ~PeerJsGateway();

  // `start-stream`: calls PeerJS id `streamer` to publish stream `stream_id`.
  void start_stream(const std::string& socket_id, const std::string& streamer,
                    const std::string& stream_id, const nlohmann::json& metadata, StartDone done);
  // The engine ended the stream: hang up on its streamer and viewers and
  // leave the PeerJS server.
  void stream_ended(const std::string& stream_id);
  // The PeerJS id viewers call for `stream_id`; empty if it has none.
  std::string viewer_peer_id(const std::string& stream_id) const;
  void stop();

 private:
  struct Call;
  void dial(Call& call, const StartDone& done);
  void on_open(Call& call);
  void place_call(Call& call, bool switch_source);
  void arm_answer_timer(Call& call);
  void fail_call(Call& call, const std::string& message);
  void on_message(Call& call, const peerjs::Message& m);
  void on_answer(Call& call, const peerjs::Message& m);
  void on_viewer_offer(Call& call, const peerjs::Message& m);
  // By value: callers pass strings owned by the Call that fail() destroys.
  void fail(std::string stream_id, std::string message);
  void forget(const std::string& stream_id);
  Call* find(const std::string& stream_id, uint64_t serial);

  boost::asio::io_context& io_;
  Options options_;
  EngineRouter& engines_;
  ControlPoster post_;
  ErrorSink on_error_;
  std::map<std::string, std::unique_ptr<Call>> calls_;  // by stream id
  uint64_t next_serial_ = 1;
};

}  // namespace lss::signal
