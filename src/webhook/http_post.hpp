#pragma once
// The I/O edge: one HTTP(S) POST with libcurl. One poster per delivery
// thread, so its connection to the receiver is kept alive between events.
#include <atomic>
#include <string>
#include <string_view>
#include <vector>

namespace lss::webhook {

struct PostResult {
  long status = 0;    // HTTP status; 0 when there was no answer
  std::string error;  // why there was no answer
};

class HttpPoster {
 public:
  // `cancel` aborts a POST in progress (shutdown) instead of waiting for its
  // timeout.
  explicit HttpPoster(const std::atomic<bool>& cancel);
  ~HttpPoster();
  HttpPoster(const HttpPoster&) = delete;
  HttpPoster& operator=(const HttpPoster&) = delete;

  PostResult post(const std::string& url, std::string_view body,
                  const std::vector<std::string>& headers);

 private:
  void* curl_;  // CURL*, kept out of the header
  const std::atomic<bool>& cancel_;
};

}  // namespace lss::webhook
