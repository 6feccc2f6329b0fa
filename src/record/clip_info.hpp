#pragma once
// Everything known about one finished clip: written next to the clip file in
// the spool (JSON sidecar), then stored in the catalog and sent to the app.
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

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

namespace sidecar_field {
// A field as to_json() writes it: absent keeps the default; present with
// another type, or a number out of the field's range, is not a sidecar of
// ours (nlohmann's value() would throw, or convert with undefined behaviour).
inline bool read(const nlohmann::json& j, const char* key, std::string& out) {
  const auto it = j.find(key);
  if (it == j.end()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}
inline bool read(const nlohmann::json& j, const char* key, double& out) {
  const auto it = j.find(key);
  if (it == j.end()) return true;
  // Finite only: an overflowing number reads as inf, which JSON cannot write back.
  if (!it->is_number() || !std::isfinite(it->get<double>())) return false;
  out = it->get<double>();
  return true;
}
template <class Int>
requires std::is_integral_v<Int>
inline bool read(const nlohmann::json& j, const char* key, Int& out) {
  const auto it = j.find(key);
  if (it == j.end()) return true;
  const auto fits = [&out](auto v) {
    if (!std::in_range<Int>(v)) return false;
    out = static_cast<Int>(v);
    return true;
  };
  if (it->is_number_unsigned()) return fits(it->get<uint64_t>());
  return it->is_number_integer() && fits(it->get<int64_t>());
}
}  // namespace sidecar_field

inline bool from_json(const nlohmann::json& j, ClipInfo& c) {
  if (!j.is_object()) return false;
  c = ClipInfo{};
  using sidecar_field::read;
  const bool typed = read(j, "stream", c.stream_name) && read(j, "stream_id", c.stream_id) &&
                     read(j, "index", c.index) && read(j, "file", c.file) &&
                     read(j, "object_key", c.object_key) && read(j, "started_at", c.started_at) &&
                     read(j, "ended_at", c.ended_at) && read(j, "duration", c.duration_s) &&
                     read(j, "bytes", c.bytes) && read(j, "video_codec", c.video_codec) &&
                     read(j, "audio_codec", c.audio_codec) && read(j, "width", c.width) &&
                     read(j, "height", c.height) && read(j, "video_frames", c.video_frames) &&
                     read(j, "audio_frames", c.audio_frames);
  return typed && !c.stream_name.empty() && !c.object_key.empty();
}

// A sidecar's text as the uploader reads it back; nullopt when it is not one.
inline std::optional<ClipInfo> parse_sidecar(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  ClipInfo c;
  if (j.is_discarded() || !from_json(j, c)) return std::nullopt;
  return c;
}

}  // namespace lss::record
