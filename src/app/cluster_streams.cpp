#include "app/cluster_streams.hpp"

#include <mutex>

namespace lss {

ClusterStreamFeed::ClusterStreamFeed(boost::asio::io_context& control,
                                     signal::EngineRouter& engines, ClusterNode& node)
    : engines_(engines), node_(node), timer_(control) {}

void ClusterStreamFeed::start() {
  tick();
}

void ClusterStreamFeed::stop() {
  *stopped_ = true;
  timer_.cancel();
}

void ClusterStreamFeed::tick() {
  struct Gathered {
    std::mutex mutex;  // workers add their streams concurrently
    std::vector<cluster::LiveStream> live;
    std::vector<cluster::RelayedStream> relayed;
  };
  auto g = std::make_shared<Gathered>();
  engines_.run_on_all(
      [g](sfu::Engine& engine) {
        const auto streams = engine.streams(Clock::now());
        const auto pulled = engine.pulled_streams();
        std::lock_guard lock(g->mutex);
        for (const auto& s : streams) {
          g->live.push_back({s.session_id, s.name, s.started_at, s.viewers, s.video_codec,
                             s.audio_codec, s.bitrate_bps});
        }
        // Its viewers on other workers are counted on the pull's (relays).
        for (const auto& s : pulled) g->relayed.push_back({s.name, s.viewers});
      },
      [this, g, stopped = stopped_] {
        if (*stopped) return;
        node_.set_live(std::move(g->live), std::move(g->relayed));
      });
  // Each record goes out every ClusterNode::kAnnounceInterval: as fresh as that.
  timer_.expires_after(ClusterNode::kAnnounceInterval);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !*stopped_) tick();
  });
}

signal::ClusterStreams cluster_streams(const std::unique_ptr<ClusterNode>& node) {
  signal::ClusterStreams c;
  c.view = [&node] {
    signal::ClusterStreams::View v;
    if (!node) return v;
    v.node = node->self().id;
    v.node_url = node->self().url;
    for (const auto& n : node->nodes()) {
      for (const auto& r : n.relayed) {
        auto& a = v.relayed[r.name];
        a.relays++;
        a.viewers += r.viewers;
      }
      if (n.id == v.node) continue;
      for (const auto& s : n.live) {
        sfu::StreamInfo info;
        info.session_id = s.id;
        info.name = s.name;
        info.started_at = s.started_at;
        info.viewers = s.viewers;
        info.video_codec = s.video_codec;
        info.audio_codec = s.audio_codec;
        info.bitrate_bps = s.bitrate_bps;
        v.others.push_back({std::move(info), n.id, n.url});
      }
    }
    return v;
  };
  return c;
}

}  // namespace lss
