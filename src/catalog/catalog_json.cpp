#include "catalog/catalog.hpp"

namespace lss::catalog {

// Field names here are the public API (README "Stream and clip records").
nlohmann::json to_json(const StreamRecord& s) {
  return {{"id", s.id},
          {"name", s.name},
          {"publisher", s.publisher},
          {"started_at", s.started_at},
          {"ended_at", s.ended_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.ended_at)},
          {"status", s.status},
          {"peak_viewers", s.peak_viewers},
          {"clip_count", s.clip_count},
          {"video_codec", s.video_codec},
          {"audio_codec", s.audio_codec}};
}

nlohmann::json to_json(const ClipRecord& c) {
  return {{"stream_id", c.stream_id},
          {"stream", c.stream_name},
          {"index", c.index},
          {"started_at", c.started_at},
          {"ended_at", c.ended_at},
          {"duration", c.duration},
          {"bytes", c.bytes},
          {"video_codec", c.video_codec},
          {"audio_codec", c.audio_codec},
          {"width", c.width},
          {"height", c.height},
          {"object_key", c.object_key},
          {"url", c.url}};
}

}  // namespace lss::catalog
