#include "webhook/event.hpp"

#include <array>
#include <utility>

#include "common/random.hpp"

namespace lss::webhook {
namespace {

constexpr std::array<std::pair<EventType, std::string_view>, 6> kNames{{
    {EventType::kStreamStarted, "stream.started"},
    {EventType::kStreamEnded, "stream.ended"},
    {EventType::kClipStored, "clip.stored"},
    {EventType::kUploadFailed, "upload.failed"},
    {EventType::kViewerJoined, "viewer.joined"},
    {EventType::kViewerLeft, "viewer.left"},
}};

}  // namespace

std::string_view type_name(EventType type) {
  for (const auto& [t, name] : kNames) {
    if (t == type) return name;
  }
  return "unknown";
}

std::optional<EventType> parse_type(std::string_view name) {
  for (const auto& [t, n] : kNames) {
    if (n == name) return t;
  }
  return std::nullopt;
}

bool is_viewer_event(EventType type) {
  return type == EventType::kViewerJoined || type == EventType::kViewerLeft;
}

std::string new_event_id() {
  return random_hex(16);
}

std::string event_body(std::string_view id, EventType type, std::string_view timestamp,
                       const nlohmann::json& data) {
  // Built by hand: nlohmann::json sorts keys, and "id" first reads better in
  // a receiver's log.
  std::string body = "{\"id\":";
  body += nlohmann::json(id).dump();
  body += ",\"type\":";
  body += nlohmann::json(type_name(type)).dump();
  body += ",\"timestamp\":";
  body += nlohmann::json(timestamp).dump();
  body += ",\"data\":";
  body += data.dump();
  body += '}';
  return body;
}

Result<ParsedEvent> parse_event_body(std::string_view body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("not a JSON object");
  for (const char* key : {"id", "type", "timestamp"}) {
    if (!j.contains(key) || !j[key].is_string()) {
      return make_error(std::string("no string '") + key + "'");
    }
  }
  if (!j.contains("data")) return make_error("no 'data'");
  auto type = parse_type(j["type"].get<std::string>());
  if (!type) return make_error("unknown type '" + j["type"].get<std::string>() + "'");
  return ParsedEvent{j["id"].get<std::string>(), *type, j["timestamp"].get<std::string>()};
}

nlohmann::json viewer_data(const std::string& stream, const std::string& stream_id,
                           const std::string& session_id, const std::string& remote_address) {
  return {{"stream", stream},
          {"stream_id", stream_id},
          {"session_id", session_id},
          {"remote_address", remote_address}};
}

}  // namespace lss::webhook
