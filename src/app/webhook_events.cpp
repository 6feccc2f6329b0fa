#include "app/webhook_events.hpp"

#include <spdlog/spdlog.h>

namespace lss {
namespace {

using webhook::EventType;

// The stream as GET /api/streams/{id} shows it; `fallback` when the catalog
// cannot say (it failed, or another backend lags).
nlohmann::json stream_data(catalog::Catalog& catalog, const std::string& id,
                           nlohmann::json fallback) {
  nlohmann::json out = std::move(fallback);
  if (auto row = catalog.get_stream(id); row.ok() && *row) out = catalog::to_json(**row);
  nlohmann::json clips = nlohmann::json::array();
  if (auto rows = catalog.list_clips(id, "", {500, 0}); rows.ok()) {
    for (const auto& c : *rows) clips.push_back(catalog::to_json(c));
  }
  out["clips"] = std::move(clips);
  return out;
}

}  // namespace

Result<std::unique_ptr<webhook::Webhooks>> open_webhooks(const Config& config) {
  // Opened without receivers too: SIGHUP may add some.
  webhook::WebhookOptions o;
  o.urls = config.webhook_urls;
  o.secret = config.webhook_secret;
  o.viewer_events = config.webhook_viewer_events;
  o.queue_root = config.data_dir + "/webhooks";
  auto hooks = webhook::Webhooks::open(o);
  if (!hooks.ok()) return hooks.error();
  if (config.webhook_urls.empty()) return hooks;
  std::string list;
  for (const auto& u : config.webhook_urls) list += (list.empty() ? "" : ", ") + u;
  spdlog::info("webhooks to {} (queued in {}{})", list, o.queue_root,
               o.viewer_events ? "" : "; no viewer events");
  return hooks;
}

void publish_stream_event(webhook::Webhooks& hooks, catalog::Catalog& catalog,
                          const sfu::StreamEvent& e) {
  if (!hooks.has_receivers()) return;  // spare the catalog its queries
  const bool started = e.kind == sfu::StreamEvent::Kind::kStarted;
  nlohmann::json fallback = {{"id", e.info.session_id},
                             {"name", e.info.name},
                             {"publisher", e.publisher},
                             {"started_at", e.info.started_at},
                             {"ended_at", nullptr},
                             {"status", started ? "live" : "ended"},
                             {"peak_viewers", e.peak_viewers},
                             {"video_codec", e.info.video_codec},
                             {"audio_codec", e.info.audio_codec}};
  nlohmann::json data = stream_data(catalog, e.info.session_id, std::move(fallback));
  if (started) data["viewers"] = e.info.viewers;  // as the API shows a live stream
  hooks.publish(started ? EventType::kStreamStarted : EventType::kStreamEnded, data);
}

void publish_crash_ended(webhook::Webhooks& hooks, catalog::Catalog& catalog,
                         const std::vector<std::string>& ids) {
  if (!hooks.has_receivers()) return;
  for (const auto& id : ids) {
    hooks.publish(EventType::kStreamEnded,
                  stream_data(catalog, id, {{"id", id}, {"status", "ended"}}));
  }
}

void publish_viewer_event(webhook::Webhooks& hooks, const sfu::ViewerEvent& e) {
  const auto type =
      e.kind == sfu::ViewerEvent::Kind::kJoined ? EventType::kViewerJoined : EventType::kViewerLeft;
  hooks.publish(type, webhook::viewer_data(e.stream, e.stream_id, e.session_id, e.remote));
}

void publish_clip_stored(webhook::Webhooks& hooks, const catalog::ClipRecord& clip) {
  hooks.publish(EventType::kClipStored, catalog::to_json(clip));
}

void publish_upload_failed(webhook::Webhooks& hooks, const catalog::ClipRecord& clip,
                           const std::string& error, int attempt) {
  nlohmann::json data = catalog::to_json(clip);
  data["error"] = error;
  data["attempt"] = attempt;
  hooks.publish(EventType::kUploadFailed, data);
}

}  // namespace lss
