#include "webhook/webhooks.hpp"

#include <spdlog/spdlog.h>

#include "common/iso8601.hpp"
#include "webhook/queue_naming.hpp"

namespace lss::webhook {

Result<std::unique_ptr<Webhooks>> Webhooks::open(const WebhookOptions& options) {
  std::unique_ptr<Webhooks> hooks(new Webhooks(options));
  for (const auto& url : options.urls) {
    const std::string dir = options.queue_root + "/" + receiver_dir_name(url);
    auto queue = DiskQueue::open(dir, options.max_queued);
    if (!queue.ok()) return make_error("webhooks: " + queue.error().message);
    if (size_t n = (*queue)->size()) {
      spdlog::info("webhooks: {} event(s) for {} left from the last run, resuming", n, url);
    }
    hooks->receivers_.push_back(
        std::make_unique<Receiver>(url, options.secret, std::move(queue.value())));
  }
  return hooks;
}

Webhooks::~Webhooks() {
  stop();
}

void Webhooks::start() {
  for (auto& r : receivers_) r->start();
}

void Webhooks::stop() {
  for (auto& r : receivers_) r->stop();
}

void Webhooks::publish(EventType type, const nlohmann::json& data) {
  if (!wants(type)) return;
  std::lock_guard lock(publish_mu_);
  const std::string body = event_body(new_event_id(), type, iso8601_utc(), data);
  for (auto& r : receivers_) {
    if (auto st = r->enqueue(body); !st) {
      // The disk is full or read-only: nothing durable can be promised.
      spdlog::error("webhooks: {} for {} lost: {}", type_name(type), r->url(), st.message());
    }
  }
}

}  // namespace lss::webhook
