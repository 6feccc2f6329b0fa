#include "whip_client.hpp"

#include <curl/curl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cctype>

namespace lss::load {

namespace {

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  const size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "location:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i)
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    if (match) {
      line.remove_prefix(kName.size());
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' '))
        line.remove_suffix(1);
      *static_cast<std::string*>(user) = std::string(line);
    }
  }
  return len;
}

struct Progress {
  const HttpPool* pool;
  bool cancellable;
};

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* p = static_cast<const Progress*>(user);
  return p->cancellable && p->pool->cancelled() ? 1 : 0;
}

HttpResponse perform(CURL* curl, const HttpRequest& req, const HttpPool& pool) {
  HttpResponse res;
  res.tag = req.tag;
  res.method = req.method;
  // reset() keeps the connection cache, so requests reuse keep-alive sockets.
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  Progress progress{&pool, req.cancellable};
  if (req.cancellable) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &progress);
  }
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &res.location);
  curl_slist* headers = nullptr;
  if (req.method == "POST") {
    headers = curl_slist_append(headers, ("Content-Type: " + req.content_type).c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, long(req.body.size()));
  } else if (req.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (!req.bearer.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + req.bearer).c_str());
  if (headers) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  } else {
    res.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  return res;
}

}  // namespace

Result<std::unique_ptr<HttpPool>> HttpPool::create(size_t threads) {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return make_error("eventfd failed");
  std::unique_ptr<HttpPool> pool(new HttpPool(fd));
  for (size_t i = 0; i < threads; ++i) pool->threads_.emplace_back([p = pool.get()] { p->run(); });
  return pool;
}

HttpPool::~HttpPool() {
  cancel();  // a thread in a long poll returns within a second
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  close(event_fd_);
}

void HttpPool::submit(HttpRequest request) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(request));
    ++in_flight_;
  }
  cv_.notify_one();
}

std::vector<HttpResponse> HttpPool::take() {
  uint64_t n;
  while (read(event_fd_, &n, sizeof n) > 0) {
  }
  std::lock_guard lock(mu_);
  std::vector<HttpResponse> out;
  out.swap(done_);
  return out;
}

size_t HttpPool::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

void HttpPool::run() {
  CURL* curl = curl_easy_init();
  for (;;) {
    HttpRequest req;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) break;
      req = std::move(queue_.front());
      queue_.pop_front();
    }
    HttpResponse res;
    if (curl && !(req.cancellable && cancelled())) {
      res = perform(curl, req, *this);
    } else {
      res.tag = req.tag;
      res.method = req.method;
      res.error = curl ? "cancelled" : "curl_easy_init failed";
    }
    {
      std::lock_guard lock(mu_);
      done_.push_back(std::move(res));
      --in_flight_;
    }
    const uint64_t one = 1;
    (void)!write(event_fd_, &one, sizeof one);
  }
  if (curl) curl_easy_cleanup(curl);
}

std::string resolve_location(const std::string& base_url, const std::string& location) {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  if (location.starts_with("/")) {
    // base_url is scheme://authority (options strip any path).
    const size_t authority = base_url.find("://");
    const size_t path = base_url.find('/', authority == std::string::npos ? 0 : authority + 3);
    return base_url.substr(0, path) + location;
  }
  return base_url + "/" + location;
}

}  // namespace lss::load
