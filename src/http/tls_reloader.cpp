#include "http/tls_reloader.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

namespace lss::http {

TlsReloader::TlsReloader(boost::asio::io_context& io, std::shared_ptr<TlsContextProvider> tls,
                         std::chrono::milliseconds poll_interval)
    : tls_(std::move(tls)), interval_(poll_interval), hup_(io, SIGHUP), timer_(io) {}

TlsReloader::~TlsReloader() {
  stop();
}

void TlsReloader::start() {
  wait_for_signal();
  if (tls_) schedule_poll();
}

void TlsReloader::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  hup_.cancel(ec);
  timer_.cancel();
}

void TlsReloader::wait_for_signal() {
  hup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || stopped_) return;
    if (tls_) {
      (void)tls_->reload("SIGHUP");  // logs the outcome; a failure keeps the old certificate
    } else {
      spdlog::info("SIGHUP received: nothing to reload (no TLS_CERT)");
    }
    wait_for_signal();
  });
}

void TlsReloader::schedule_poll() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    (void)tls_->poll();
    schedule_poll();
  });
}

}  // namespace lss::http
