#pragma once
// The webhook dispatcher: every event goes to every receiver of
// WEBHOOK_URLS, each with its own durable queue under
// DATA_DIR/webhooks/<receiver>/ and its own delivery thread.
//
// publish() is thread-safe and returns once the event is on disk for every
// receiver. It does file I/O (fsync): call it from the control thread or the
// uploader's, never from a media worker.
#include <atomic>
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

  // SIGHUP: new URLs, secret and viewer-events setting. Receivers whose URL
  // and secret stay keep running; new ones open (or resume) their queues
  // and start if this has started; dropped ones stop, their undelivered
  // events staying on disk should the URL come back. An error (a queue that
  // cannot be opened) changes nothing.
  Status reconfigure(const std::vector<std::string>& urls, const std::string& secret,
                     bool viewer_events);
  bool has_receivers() const;

  // False for viewer events when WEBHOOK_VIEWER_EVENTS=false: callers may
  // skip building their data.
  bool wants(EventType type) const {
    return viewer_events_.load(std::memory_order_relaxed) || !is_viewer_event(type);
  }
  // Queues one event (a new id, the current time) for every receiver.
  void publish(EventType type, const nlohmann::json& data);

  // Events queued for all receivers (a receiver's backlog counts once per receiver).
  size_t queued() const;

 private:
  explicit Webhooks(WebhookOptions options)
      : options_(std::move(options)), viewer_events_(options_.viewer_events) {}
  static Result<std::unique_ptr<Receiver>> open_receiver(const WebhookOptions& options,
                                                         const std::string& url,
                                                         const std::string& secret);

  WebhookOptions options_;
  std::atomic<bool> viewer_events_;
  // One order of events for every receiver; guards receivers_ and started_.
  mutable std::mutex publish_mu_;
  std::vector<std::unique_ptr<Receiver>> receivers_;
  bool started_ = false;
};

}  // namespace lss::webhook
