#pragma once
// WHIP/WHEP signalling over libcurl, off the media thread: a few worker
// threads each run blocking requests on their own (keep-alive) easy handle,
// and completions are handed back through a queue whose eventfd the media
// thread's epoll watches. Signalling latency therefore never stalls media.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"

namespace lss::load {

struct HttpRequest {
  uint64_t tag = 0;    // returned with the response (the peer's index)
  std::string method;  // POST, GET or DELETE
  std::string url;
  std::string body;  // POST: the SDP offer (or JSON, with content_type)
  std::string bearer;
  std::string content_type = "application/sdp";
  long timeout_ms = 15000;
  // Aborted by HttpPool::cancel() (a long poll that must not hold up exit).
  bool cancellable = false;
};

struct HttpResponse {
  uint64_t tag = 0;
  std::string method;
  long status = 0;       // 0 when the request itself failed
  std::string error;     // transport error (curl) when status == 0
  std::string body;      // the SDP answer, or the server's reason
  std::string location;  // Location header, as sent
};

class HttpPool {
 public:
  static Result<std::unique_ptr<HttpPool>> create(size_t threads);
  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  void submit(HttpRequest request);
  // Completed requests since the last call; also drains the eventfd.
  std::vector<HttpResponse> take();
  int event_fd() const { return event_fd_; }
  size_t in_flight() const;
  // Aborts cancellable requests in progress (within about a second) and
  // fails those submitted later.
  void cancel() { cancel_.store(true); }
  bool cancelled() const { return cancel_.load(); }

 private:
  explicit HttpPool(int event_fd) : event_fd_(event_fd) {}
  void run();

  int event_fd_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<HttpRequest> queue_;
  std::vector<HttpResponse> done_;
  size_t in_flight_ = 0;
  bool stop_ = false;
  std::atomic<bool> cancel_{false};
  std::vector<std::thread> threads_;
};

// "/whep/x/abc" relative to "http://h:p" -> "http://h:p/whep/x/abc".
std::string resolve_location(const std::string& base_url, const std::string& location);

}  // namespace lss::load
