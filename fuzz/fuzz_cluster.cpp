// Cluster records and events come from Redis, where anything that reaches
// the Redis server may write: parse arbitrary text as a node record and as
// an event the way the nodes do, and what parses must survive our own
// writer's round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cluster/event_channel.hpp"
#include "cluster/node_registry.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool same(const lss::cluster::NodeInfo& a, const lss::cluster::NodeInfo& b) {
  if (a.id != b.id || a.url != b.url || a.media_addresses != b.media_addresses ||
      a.peers != b.peers || a.streams != b.streams || a.live.size() != b.live.size())
    return false;
  for (size_t i = 0; i < a.live.size(); ++i) {
    const auto &x = a.live[i], &y = b.live[i];
    if (x.id != y.id || x.name != y.name || x.started_at != y.started_at ||
        x.viewers != y.viewers || x.video_codec != y.video_codec ||
        x.audio_codec != y.audio_codec || x.bitrate_bps != y.bitrate_bps)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto node = lss::cluster::node_from_json_text(text); node.ok()) {
    // Invalid UTF-8 is replaced on the way out; compare a clean second trip.
    auto once = lss::cluster::node_from_json_text(lss::cluster::to_json_text(*node));
    check(once.ok());
    auto twice = lss::cluster::node_from_json_text(lss::cluster::to_json_text(*once));
    check(twice.ok() && same(*once, *twice));
  }
  if (auto event = lss::cluster::event_from_message(text); event.ok()) {
    auto once = lss::cluster::event_from_message(lss::cluster::to_message(*event));
    check(once.ok());
    auto twice = lss::cluster::event_from_message(lss::cluster::to_message(*once));
    check(twice.ok() && twice->node == once->node && twice->name == once->name &&
          twice->data == once->data);
  }
  return 0;
}
