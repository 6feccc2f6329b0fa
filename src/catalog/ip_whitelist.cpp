#include "catalog/ip_whitelist.hpp"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

namespace lss::catalog {

Status request_ip_whitelist(const std::string& url, const std::string& key, long timeout_seconds) {
  if (url.empty()) return make_error("WHITELIST_URL is not set");
  CURL* curl = curl_easy_init();
  if (!curl) return make_error("curl_easy_init failed");
  const std::string body = nlohmann::json{{"key", key}}.dump();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string auth = "Authorization: Bearer " + key;
  headers = curl_slist_append(headers, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK)
    return make_error(std::string("whitelist request failed: ") + curl_easy_strerror(rc));
  if (status < 200 || status >= 300)
    return make_error("whitelist endpoint answered HTTP " + std::to_string(status));
  return {};
}

}  // namespace lss::catalog
