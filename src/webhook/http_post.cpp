#include "webhook/http_post.hpp"

#include <curl/curl.h>

#include <mutex>

namespace lss::webhook {
namespace {

std::once_flag g_curl_init;

size_t discard_body(char*, size_t size, size_t nmemb, void*) {
  return size * nmemb;  // receivers' answers carry nothing we use
}

int on_progress(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

}  // namespace

HttpPoster::HttpPoster(const std::atomic<bool>& cancel) : curl_(nullptr), cancel_(cancel) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

HttpPoster::~HttpPoster() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

PostResult HttpPoster::post(const std::string& url, std::string_view body,
                            const std::vector<std::string>& headers) {
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return {0, "libcurl could not start"};
  curl_easy_reset(c);  // keeps the connection cache, drops the last request's options
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  // No "Expect: 100-continue" round trip before larger bodies.
  list = curl_slist_append(list, "Expect:");
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "live-stream-server-webhooks");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &cancel_);
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  PostResult out;
  if (rc != CURLE_OK) {
    out.error = error[0] ? error : curl_easy_strerror(rc);
    return out;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

}  // namespace lss::webhook
