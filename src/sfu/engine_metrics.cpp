// Engine::metrics() and the totals kept of peers as they leave (see
// engine_metrics.hpp); apart from engine.cpp, which is about sessions.
#include "sfu/engine_metrics.hpp"

#include <algorithm>

#include "sfu/engine.hpp"

namespace lss::sfu {

namespace {

void add_peer(EngineMetrics& m, const webrtc::PeerConnection& pc) {
  m.rtp_in += pc.stats().rtp_in;
  m.rtp_out += pc.stats().rtp_out;
  m.dtls_failures += pc.stats().dtls_failures;
}

void add_viewer(EngineMetrics& m, const Subscriber& sub) {
  const ViewerStats s = sub.stats();
  m.nacks_received += s.nacks;
  m.retransmitted += s.resent;
  // Cumulative as the viewer reports it; a report may lower it (duplicates
  // count against it), never below zero here.
  m.packets_lost += uint64_t(std::max<int64_t>(0, s.packets_lost));
}

}  // namespace

void Engine::keep_peer_totals(const webrtc::PeerConnection& pc) {
  add_peer(departed_, pc);
}

void Engine::keep_viewer_totals(const Subscriber& sub) {
  add_viewer(departed_, sub);
}

void Engine::keep_stream_totals(const Stream& stream) {
  for (const auto& sub : stream.subscribers()) add_viewer(departed_, *sub);
  departed_.plis_sent += stream.plis_sent();
}

EngineMetrics Engine::metrics() {
  EngineMetrics m;
  m.add_counters(departed_);
  for (auto& [name, s] : streams_) {
    if (!s->ended()) ++(s->is_relay() ? m.relays : m.streams);
    m.plis_sent += s->plis_sent();
    s->for_each_publisher_peer([&m](webrtc::PeerConnection& pc) {
      add_peer(m, pc);
      if (pc.state() != webrtc::PeerConnection::State::kClosed) ++m.publishers;
    });
    for (const auto& sub : s->subscribers()) {
      add_peer(m, sub->peer());
      add_viewer(m, *sub);
      if (!sub->closed()) ++m.viewers;
    }
  }
  // A viewer's report may lower its cumulative loss; the counter holds.
  m.packets_lost = packets_lost_reported_ = std::max(m.packets_lost, packets_lost_reported_);
  return m;
}

}  // namespace lss::sfu
