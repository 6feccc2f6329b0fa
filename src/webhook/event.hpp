#pragma once
// Webhook events: what one POST carries. The body is built once per event and
// stored byte for byte in each receiver's queue, so the signature a receiver
// checks is over exactly what was written to disk.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lss::webhook {

enum class EventType {
  kStreamStarted,
  kStreamEnded,
  kClipStored,
  kUploadFailed,
  kViewerJoined,
  kViewerLeft,
};

// "stream.started", "clip.stored", ... (the public names, README "Webhooks").
std::string_view type_name(EventType type);
std::optional<EventType> parse_type(std::string_view name);
// viewer.joined and viewer.left, which WEBHOOK_VIEWER_EVENTS=false turns off.
bool is_viewer_event(EventType type);

// A new event id: 128 random bits in hex, so receivers can drop the
// duplicates that at-least-once delivery may bring.
std::string new_event_id();

// `{"id":...,"type":...,"timestamp":...,"data":...}` in that order, compact.
std::string event_body(std::string_view id, EventType type, std::string_view timestamp,
                       const nlohmann::json& data);

struct ParsedEvent {
  std::string id;
  EventType type;
  std::string timestamp;
};
// Checks that a stored body is a whole event (the queue skips the ones that
// are not).
Result<ParsedEvent> parse_event_body(std::string_view body);

// The data of viewer.joined / viewer.left.
nlohmann::json viewer_data(const std::string& stream, const std::string& stream_id,
                           const std::string& session_id, const std::string& remote_address);

}  // namespace lss::webhook
