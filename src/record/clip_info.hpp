#pragma once
// Everything known about one finished clip: written next to the clip file in
// the spool (JSON sidecar), then stored in the catalog and sent to the app.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace lss::record {

struct ClipInfo {
  std::string stream_name;
  std::string stream_id;
  int index = 0;
  std::string file;                  // path of the clip in the spool
  std::string object_key;            // "<stream name>/<UTC start>-<stream id>/<index>.<ext>"
  std::string started_at, ended_at;  // ISO 8601 UTC
  double duration_s = 0;
  uint64_t bytes = 0;
  std::string video_codec, audio_codec;
  int width = 0, height = 0;
  uint64_t video_frames = 0, audio_frames = 0;
};

inline nlohmann::json to_json(const ClipInfo& c) {
  return {{"stream", c.stream_name},
          {"stream_id", c.stream_id},
          {"index", c.index},
          {"file", c.file},
          {"object_key", c.object_key},
          {"started_at", c.started_at},
          {"ended_at", c.ended_at},
          {"duration", c.duration_s},
          {"bytes", c.bytes},
          {"video_codec", c.video_codec},
          {"audio_codec", c.audio_codec},
          {"width", c.width},
          {"height", c.height},
          {"video_frames", c.video_frames},
          {"audio_frames", c.audio_frames}};
}

inline bool from_json(const nlohmann::json& j, ClipInfo& c) {
  if (!j.is_object()) return false;
  c.stream_name = j.value("stream", "");
  c.stream_id = j.value("stream_id", "");
  c.index = j.value("index", 0);
  c.file = j.value("file", "");
  c.object_key = j.value("object_key", "");
  c.started_at = j.value("started_at", "");
  c.ended_at = j.value("ended_at", "");
  c.duration_s = j.value("duration", 0.0);
  c.bytes = j.value("bytes", uint64_t(0));
  c.video_codec = j.value("video_codec", "");
  c.audio_codec = j.value("audio_codec", "");
  c.width = j.value("width", 0);
  c.height = j.value("height", 0);
  c.video_frames = j.value("video_frames", uint64_t(0));
  c.audio_frames = j.value("audio_frames", uint64_t(0));
  return !c.stream_name.empty() && !c.object_key.empty();
}

}  // namespace lss::record
