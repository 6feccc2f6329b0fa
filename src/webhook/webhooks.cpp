#include "webhook/webhooks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/iso8601.hpp"
#include "webhook/queue_naming.hpp"

namespace lss::webhook {

Result<std::unique_ptr<Receiver>> Webhooks::open_receiver(const WebhookOptions& options,
                                                          const std::string& url,
                                                          const std::string& secret) {
  const std::string dir = options.queue_root + "/" + receiver_dir_name(url);
  auto queue = DiskQueue::open(dir, options.max_queued);
  if (!queue.ok()) return make_error("webhooks: " + queue.error().message);
  if (size_t n = (*queue)->size()) {
    spdlog::info("webhooks: {} event(s) for {} left from the last run, resuming", n, url);
  }
  return std::make_unique<Receiver>(url, secret, std::move(queue.value()));
}

Result<std::unique_ptr<Webhooks>> Webhooks::open(const WebhookOptions& options) {
  std::unique_ptr<Webhooks> hooks(new Webhooks(options));
  for (const auto& url : options.urls) {
    auto r = open_receiver(options, url, options.secret);
    if (!r.ok()) return r.error();
    hooks->receivers_.push_back(std::move(r.value()));
  }
  return hooks;
}

Webhooks::~Webhooks() {
  stop();
}

void Webhooks::start() {
  std::lock_guard lock(publish_mu_);
  started_ = true;
  for (auto& r : receivers_) r->start();
}

void Webhooks::stop() {
  std::lock_guard lock(publish_mu_);
  started_ = false;
  for (auto& r : receivers_) r->stop();
}

Status Webhooks::reconfigure(const std::vector<std::string>& urls, const std::string& secret,
                             bool viewer_events) {
  std::vector<std::unique_ptr<Receiver>> next;
  std::vector<std::unique_ptr<Receiver>> dropped;
  {
    std::lock_guard lock(publish_mu_);
    std::vector<std::unique_ptr<Receiver>> old = std::move(receivers_);
    receivers_.clear();
    for (const auto& url : urls) {
      auto same = std::find_if(old.begin(), old.end(), [&](const auto& r) {
        return r && r->url() == url && r->secret() == secret;
      });
      if (same != old.end()) {
        next.push_back(std::move(*same));
        continue;
      }
      // A receiver of this URL with the old secret must let go of the
      // queue's directory before the new one opens it.
      auto other =
          std::find_if(old.begin(), old.end(), [&](const auto& r) { return r && r->url() == url; });
      if (other != old.end()) other->reset();  // stops its thread, closes its queue
      auto r = open_receiver(options_, url, secret);
      if (!r.ok()) {
        // Put back what is left; what was dropped for a new secret restarts
        // with the new secret next time.
        for (auto& n : next) receivers_.push_back(std::move(n));
        for (auto& o : old)
          if (o) receivers_.push_back(std::move(o));
        return r.error();
      }
      if (started_) (*r)->start();
      spdlog::info("webhooks: delivering to {}", url);
      next.push_back(std::move(r.value()));
    }
    for (auto& o : old) {
      if (!o) continue;
      spdlog::info("webhooks: no longer delivering to {} ({} event(s) stay queued)", o->url(),
                   o->queued());
      dropped.push_back(std::move(o));
    }
    receivers_ = std::move(next);
    options_.urls = urls;
    options_.secret = secret;
    options_.viewer_events = viewer_events;
    viewer_events_.store(viewer_events, std::memory_order_relaxed);
  }
  dropped.clear();  // joins their threads, outside the lock
  return {};
}

bool Webhooks::has_receivers() const {
  std::lock_guard lock(publish_mu_);
  return !receivers_.empty();
}

size_t Webhooks::queued() const {
  std::lock_guard lock(publish_mu_);
  size_t n = 0;
  for (const auto& r : receivers_) n += r->queued();
  return n;
}

void Webhooks::publish(EventType type, const nlohmann::json& data) {
  if (!wants(type)) return;
  std::lock_guard lock(publish_mu_);
  if (receivers_.empty()) return;
  const std::string body = event_body(new_event_id(), type, iso8601_utc(), data);
  for (auto& r : receivers_) {
    if (auto st = r->enqueue(body); !st) {
      // The disk is full or read-only: nothing durable can be promised.
      spdlog::error("webhooks: {} for {} lost: {}", type_name(type), r->url(), st.message());
    }
  }
}

}  // namespace lss::webhook
