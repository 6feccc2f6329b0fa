#pragma once
// The webhook dispatcher: every event goes to every receiver of
// WEBHOOK_URLS, each with its own durable queue under
// DATA_DIR/webhooks/<receiver>/ and its own delivery thread.
//
// publish() is thread-safe and returns once the event is on disk for every
// receiver. It does file I/O (fsync): call it from the control thread or the
// uploader's, never from a media worker.
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "webhook/event.hpp"
#include "webhook/receiver.hpp"

namespace lss::webhook {

struct WebhookOptions {
  std::vector<std::string> urls;  // WEBHOOK_URLS
  std::string secret;             // WEBHOOK_SECRET
  bool viewer_events = true;      // WEBHOOK_VIEWER_EVENTS
  std::string queue_root;         // DATA_DIR/webhooks
  size_t max_queued = 100000;     // per receiver; the oldest go first above it
};

class Webhooks {
 public:
  // Opens (or resumes) every receiver's queue; does not start delivering.
  static Result<std::unique_ptr<Webhooks>> open(const WebhookOptions& options);
  ~Webhooks();

  void start();
  void stop();  // undelivered events stay queued for the next start

  // False for viewer events when WEBHOOK_VIEWER_EVENTS=false: callers may
  // skip building their data.
  bool wants(EventType type) const { return options_.viewer_events || !is_viewer_event(type); }
  // Queues one event (a new id, the current time) for every receiver.
  void publish(EventType type, const nlohmann::json& data);

  const std::vector<std::unique_ptr<Receiver>>& receivers() const { return receivers_; }

 private:
  explicit Webhooks(WebhookOptions options) : options_(std::move(options)) {}

  WebhookOptions options_;
  std::mutex publish_mu_;  // one order of events for every receiver
  std::vector<std::unique_ptr<Receiver>> receivers_;
};

}  // namespace lss::webhook
