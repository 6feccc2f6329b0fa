#include "webhook/receiver.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <random>

#include "webhook/event.hpp"
#include "webhook/http_post.hpp"
#include "webhook/retry_policy.hpp"
#include "webhook/signature.hpp"

namespace lss::webhook {

Receiver::Receiver(std::string url, std::string secret, std::unique_ptr<DiskQueue> queue)
    : url_(std::move(url)), secret_(std::move(secret)), queue_(std::move(queue)) {}

Receiver::~Receiver() {
  stop();
}

void Receiver::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Receiver::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status Receiver::enqueue(std::string_view body) {
  if (auto st = queue_->push(body); !st) return st;
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_all();
  return {};
}

bool Receiver::sleep_unless_stopped(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, delay, [this] { return stopping_.load(); });
  return !stopping_;
}

void Receiver::run() {
  pthread_setname_np(pthread_self(), "webhook");
  HttpPoster poster(stopping_);
  std::minstd_rand jitter_source(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  int failures = 0;
  while (!stopping_) {
    auto event = queue_->front();
    if (!event) {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return pending_ || stopping_; });
      pending_ = false;
      continue;
    }
    const auto result =
        poster.post(url_, event->body,
                    {"Content-Type: application/json",
                     "X-Signature: " + signature_header_value(secret_, event->body)});
    if (stopping_) break;  // aborted by stop(): it stays queued
    auto parsed = parse_event_body(event->body);
    const std::string what =
        parsed.ok() ? std::string(type_name(parsed->type)) + " " + parsed->id : "event";
    switch (classify(result.status)) {
      case Verdict::kDelivered:
        spdlog::debug("webhook {}: {} delivered ({})", url_, what, result.status);
        queue_->pop(event->seq);
        failures = 0;
        break;
      case Verdict::kDrop:
        spdlog::error("webhook {}: {} refused with HTTP {}, dropped", url_, what, result.status);
        queue_->pop(event->seq);
        failures = 0;
        break;
      case Verdict::kRetry: {
        ++failures;
        const auto delay = backoff_delay(failures, jitter(jitter_source));
        const std::string why =
            result.status ? "HTTP " + std::to_string(result.status) : result.error;
        // The first failure and every tenth: a receiver that is down for an
        // hour should not fill the log.
        if (failures == 1 || failures % 10 == 0) {
          spdlog::warn("webhook {}: {} not delivered ({}), attempt {}, next in {} ms ({} queued)",
                       url_, what, why, failures, delay.count(), queue_->size());
        }
        sleep_unless_stopped(delay);
        break;
      }
    }
  }
}

}  // namespace lss::webhook
