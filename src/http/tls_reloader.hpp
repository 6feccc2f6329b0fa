#pragma once
// Reloads the HTTPS certificate without a restart, on the control thread:
// when its files change (polled every ~2 s, through symlinks, so certbot's
// renewals are picked up by themselves) and on SIGHUP. SIGHUP never stops
// the server: without TLS it is only logged.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "http/tls_context.hpp"

namespace lss::http {

class TlsReloader {
 public:
  // `tls` may be null (plain HTTP): SIGHUP is still caught.
  TlsReloader(boost::asio::io_context& io, std::shared_ptr<TlsContextProvider> tls,
              std::chrono::milliseconds poll_interval = std::chrono::seconds(2));
  ~TlsReloader();
  void start();
  void stop();

 private:
  void wait_for_signal();
  void schedule_poll();

  std::shared_ptr<TlsContextProvider> tls_;
  std::chrono::milliseconds interval_;
  boost::asio::signal_set hup_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace lss::http
