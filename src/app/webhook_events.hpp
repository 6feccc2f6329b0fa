#pragma once
// The server's events as webhooks (src/webhook/): each event's data is the
// record the REST API gives for the same stream (GET /api/streams/{id}, with
// its clips) or clip, so a receiver needs no second request.
#include <memory>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "catalog/catalog.hpp"
#include "common/result.hpp"
#include "sfu/engine.hpp"
#include "webhook/webhooks.hpp"

namespace lss {

// Null without WEBHOOK_URLS. Opens the queues under DATA_DIR/webhooks,
// resuming what a previous run left; start() begins delivery.
Result<std::unique_ptr<webhook::Webhooks>> open_webhooks(const Config& config);

// Control thread, once the catalog holds the stream's new state.
void publish_stream_event(webhook::Webhooks& hooks, catalog::Catalog& catalog,
                          const sfu::StreamEvent& e);
// stream.ended for the streams a crash left "live" (`ids`, listed before
// Catalog::end_all_live marked them ended), so every stream.started a
// receiver got is followed by its end.
void publish_crash_ended(webhook::Webhooks& hooks, catalog::Catalog& catalog,
                         const std::vector<std::string>& ids);
// Control thread.
void publish_viewer_event(webhook::Webhooks& hooks, const sfu::ViewerEvent& e);
// The uploader's thread: queued before the spool copy is deleted, so a
// crash in between repeats the event rather than losing it.
void publish_clip_stored(webhook::Webhooks& hooks, const catalog::ClipRecord& clip);
void publish_upload_failed(webhook::Webhooks& hooks, const catalog::ClipRecord& clip,
                           const std::string& error, int attempt);

}  // namespace lss
