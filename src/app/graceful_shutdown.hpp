#pragma once
// SIGTERM/SIGINT as an operator (systemd, Kubernetes, `docker stop`)
// expects: the first signal drains, a second one stops at once.
//
// Draining: new sessions are refused (WHIP/WHEP POSTs get 503 with
// Retry-After, so a load balancer or client retries elsewhere), every peer
// is told (DTLS close_notify), the clips in progress are finished into the
// spool, and the spool keeps uploading for up to SHUTDOWN_GRACE seconds;
// then the control loop stops and the process exits 0. Whatever is still in
// the spool (storage down) is uploaded at the next start. A second signal
// skips the wait: the spool resumes on the next start all the same.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "common/time.hpp"
#include "http/http_types.hpp"

namespace lss {

class GracefulShutdown {
 public:
  struct Steps {
    // DTLS close to every peer (their streams end, so do their
    // recordings); calls `done` on the control thread when every media
    // worker has done it.
    std::function<void(std::function<void()> done)> end_sessions;
    std::function<void()> finish_recordings;   // clips in progress into the spool
    std::function<size_t()> pending_uploads;   // clips still waiting in the spool
    std::function<size_t()> pending_webhooks;  // events still queued (may be unset)
    std::function<void()> stop;                // stops the control loop
  };

  GracefulShutdown(boost::asio::io_context& io, Duration grace);
  // Waits for SIGINT/SIGTERM on `io` (the control thread) and then runs
  // `steps`.
  void start(Steps steps);
  bool draining() const { return draining_; }
  // Stopped by a second signal: skip whatever could still take time.
  bool hurried() const { return hurried_; }
  // Begins draining as the first signal does (tests; the admin API).
  void drain();

  // For Router::set_gate: while draining, a request that would start a
  // session (POST on /whip/, /whep/) gets 503 with Retry-After.
  std::optional<http::Response> gate(const http::Request& req, std::string_view route) const;

  static constexpr int kRetryAfterSeconds = 5;

 private:
  void wait_for_signal();
  void poll();
  void finish(const char* why);

  Duration grace_;
  Steps steps_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer timer_;
  Timestamp deadline_{};
  bool draining_ = false, stopped_ = false, hurried_ = false;
};

}  // namespace lss
