#include "cluster/whep_client.hpp"

#include <curl/curl.h>

#include <mutex>
#include <string_view>

#include "common/ascii_case.hpp"

namespace lss::cluster {
namespace {

constexpr size_t kMaxAnswer = 64 * 1024;

std::once_flag g_curl_init;

size_t keep_body(char* data, size_t size, size_t nmemb, void* out) {
  auto& body = *static_cast<std::string*>(out);
  const size_t n = size * nmemb;
  if (body.size() + n > kMaxAnswer) return 0;  // aborts: no SDP is that large
  body.append(data, n);
  return n;
}

size_t keep_location(char* data, size_t size, size_t nmemb, void* out) {
  const size_t n = size * nmemb;
  std::string_view line(data, n);
  constexpr std::string_view kName = "location:";
  if (line.size() > kName.size() &&
      to_lower_ascii(std::string(line.substr(0, kName.size()))) == kName) {
    line.remove_prefix(kName.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' '))
      line.remove_suffix(1);
    *static_cast<std::string*>(out) = std::string(line);
  }
  return n;
}

int on_progress(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

// The options both requests share: URL, headers, timeouts, the body kept
// (bounded), cancellation.
void common_options(CURL* c, const std::string& url, curl_slist* headers, Duration timeout,
                    std::string* body, const std::atomic<bool>& cancel) {
  const long ms = long(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "live-stream-server-cluster");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&cancel));
}

curl_slist* with_bearer(curl_slist* headers, const std::string& bearer) {
  if (bearer.empty()) return headers;
  return curl_slist_append(headers, ("Authorization: Bearer " + bearer).c_str());
}

}  // namespace

WhepExchange post_whep_offer(const std::string& url, const std::string& offer,
                             const std::string& bearer, Duration timeout,
                             const std::atomic<bool>& cancel) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  WhepExchange out;
  CURL* c = curl_easy_init();
  if (!c) {
    out.error = "libcurl could not start";
    return out;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/sdp");
  headers = with_bearer(curl_slist_append(headers, "Expect:"), bearer);
  char error[CURL_ERROR_SIZE] = {};
  common_options(c, url, headers, timeout, &out.answer, cancel);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, offer.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(offer.size()));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_location);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &out.location);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    out.error = error[0] ? error : curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return out;
}

long delete_whep_session(const std::string& url, const std::string& bearer, Duration timeout,
                         const std::atomic<bool>& cancel) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* c = curl_easy_init();
  if (!c) return 0;
  curl_slist* headers = with_bearer(nullptr, bearer);
  std::string ignored;
  common_options(c, url, headers, timeout, &ignored, cancel);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return status;
}

}  // namespace lss::cluster
