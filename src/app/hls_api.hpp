#pragma once
// LL-HLS in the server: which streams get it (H264, with Opus audio if
// there is some), the taps that feed their HlsStreams from the recording
// thread, and GET/HEAD /hls/{stream}/{object} for players and CDNs.
//
// A stream's HlsStream is registered as the stream starts (a player may ask
// before the first part: the playlist request waits) and stays registered
// `linger` after it ended, so players finish with the ENDLIST playlist; a
// new session of the same name replaces it at once. A stream HLS cannot
// carry is remembered with the reason, which its /hls/ URLs answer (404).
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/time.hpp"
#include "hls/hls_registry.hpp"
#include "hls/hls_stream.hpp"
#include "http/router.hpp"
#include "record/frame_tap.hpp"
#include "record/stream_recorder.hpp"
#include "signal/stream_claims.hpp"

namespace lss {

struct HlsSettings {
  hls::HlsOptions stream;                                    // part/segment targets, limits
  Duration linger = std::chrono::seconds(60);                // an ended stream stays servable
  Duration sweep_interval = std::chrono::milliseconds(200);  // blocked requests' deadlines
};

// Why HLS here cannot carry a stream with these tracks; empty when it can. Pure.
std::string hls_unsupported_reason(const std::string& name,
                                   const std::vector<record::RecordedTrack>& tracks);

class HlsService {
 public:
  HlsService(boost::asio::io_context& control, HlsSettings settings);
  ~HlsService();
  HlsService(const HlsService&) = delete;
  HlsService& operator=(const HlsService&) = delete;

  // Any thread (a media worker, as a publisher's stream starts). The tap
  // goes to RecordingService::start; it never returns null (a stream HLS
  // cannot carry gets a tap that only says when the stream ends).
  std::shared_ptr<record::FrameTap> open(const std::string& name,
                                         const std::vector<record::RecordedTrack>& tracks);
  // Cluster mode: a request for a stream live on another node is sent
  // there (307; a CDN in front follows it). Before the routes serve; null:
  // one node.
  void set_claims(signal::StreamClaims* claims);
  // GET and HEAD under /hls/ (register_routes adds it as "/hls/").
  http::Handler handler() const;
  void register_routes(http::Router& router) const;
  // The control thread's timer that answers blocked requests past their deadline.
  void start();
  void stop();

  hls::HlsRegistry& registry();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace lss
