#include "app/graceful_shutdown.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

namespace lss {

namespace asio = boost::asio;

GracefulShutdown::GracefulShutdown(asio::io_context& io, Duration grace)
    : grace_(grace), signals_(io, SIGINT, SIGTERM), timer_(io) {}

void GracefulShutdown::start(Steps steps) {
  steps_ = std::move(steps);
  wait_for_signal();
}

void GracefulShutdown::wait_for_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (!draining_) {
      spdlog::info("signal {} received: draining (a second one stops at once)", sig);
      wait_for_signal();  // for the second one
      drain();
    } else {
      spdlog::warn(
          "signal {} received again: stopping now ({} clip(s) left in the spool for the next "
          "start)",
          sig, steps_.pending_uploads ? steps_.pending_uploads() : 0);
      hurried_ = true;
      finish("second signal");
    }
  });
}

void GracefulShutdown::drain() {
  if (draining_) return;
  draining_ = true;
  deadline_ = Clock::now() + grace_;
  spdlog::info(
      "shutting down: new sessions get 503, every peer is closed, clips in progress are "
      "finished and the spool uploads for up to {} s",
      std::chrono::duration_cast<std::chrono::seconds>(grace_).count());
  auto then = [this] {
    if (stopped_) return;
    if (steps_.finish_recordings) steps_.finish_recordings();
    poll();
  };
  if (steps_.end_sessions) {
    steps_.end_sessions(then);
  } else {
    then();
  }
}

void GracefulShutdown::poll() {
  if (stopped_) return;
  const size_t clips = steps_.pending_uploads ? steps_.pending_uploads() : 0;
  const size_t events = steps_.pending_webhooks ? steps_.pending_webhooks() : 0;
  if (clips == 0 && events == 0) return finish("spool empty");
  if (Clock::now() >= deadline_) {
    spdlog::warn(
        "SHUTDOWN_GRACE reached with {} clip(s) and {} webhook event(s) waiting: they "
        "are sent at the next start",
        clips, events);
    return finish("grace over");
  }
  timer_.expires_after(std::chrono::milliseconds(200));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) poll();
  });
}

void GracefulShutdown::finish(const char* why) {
  if (stopped_) return;
  stopped_ = true;
  spdlog::info("shutdown: {}", why);
  timer_.cancel();
  signals_.cancel();
  if (steps_.stop) steps_.stop();
}

std::optional<http::Response> GracefulShutdown::gate(const http::Request& req,
                                                     std::string_view route) const {
  if (!draining_) return std::nullopt;
  if (req.method() != http::Verb::post) return std::nullopt;
  if (route != "/whip/" && route != "/whep/") return std::nullopt;
  auto res = http::make_response(req, http::Status::service_unavailable,
                                 "the server is shutting down: try again in a few seconds\n",
                                 "text/plain; charset=utf-8");
  res.set(http::bhttp::field::retry_after, std::to_string(kRetryAfterSeconds));
  res.keep_alive(false);
  return res;
}

}  // namespace lss
