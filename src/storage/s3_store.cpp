#include "storage/s3_store.hpp"

#include <curl/curl.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <vector>

namespace lss::storage {

namespace {

std::once_flag g_curl_init;

using Response = S3Response;

size_t collect_body(char* p, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  if (r->body.size() < 64 * 1024) r->body.append(p, size * n);
  return size * n;
}

size_t collect_header(char* p, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  std::string line(p, size * n);
  if (line.size() > 5 && strncasecmp(line.c_str(), "etag:", 5) == 0) {
    std::string v = line.substr(5);
    while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
    r->etag = v;
  }
  return size * n;
}

const char* content_type_for(const std::string& key) {
  if (key.size() > 5 && key.compare(key.size() - 5, 5, ".webm") == 0) return "video/webm";
  if (key.size() > 4 && key.compare(key.size() - 4, 4, ".mkv") == 0) return "video/x-matroska";
  return "application/octet-stream";
}

}  // namespace

std::string sha256_hex(const void* data, size_t size) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(static_cast<const unsigned char*>(data), size, d);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string encode_key(const std::string& key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

S3Store::S3Store(S3Options options) : o_(std::move(options)) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  while (!o_.endpoint.empty() && o_.endpoint.back() == '/') o_.endpoint.pop_back();
  if (o_.region.empty()) o_.region = "us-east-1";
}

std::string S3Store::object_url(const std::string& key, const std::string& query) const {
  std::string base;
  if (o_.path_style) {
    base = o_.endpoint + "/" + o_.bucket + "/";
  } else {
    const size_t scheme = o_.endpoint.find("://");
    const size_t host = scheme == std::string::npos ? 0 : scheme + 3;
    base = o_.endpoint.substr(0, host) + o_.bucket + "." + o_.endpoint.substr(host) + "/";
  }
  return base + encode_key(key) + (query.empty() ? "" : "?" + query);
}

std::string S3Store::url(const std::string& key) const {
  return o_.file_host.empty() ? object_url(key) : public_url(o_.file_host, "", key);
}

std::string S3Store::describe() const {
  return "S3 bucket " + o_.bucket + " at " + o_.endpoint;
}

Result<S3Response> s3_request(const S3Options& o, const char* method, const std::string& url,
                              const std::string& body, const char* content_type) {
  CURL* curl = curl_easy_init();
  if (!curl) return make_error("curl_easy_init failed");
  Response r;
  curl_slist* headers = nullptr;
  const std::string hash = "x-amz-content-sha256: " + sha256_hex(body.data(), body.size());
  headers = curl_slist_append(headers, hash.c_str());
  if (content_type)
    headers = curl_slist_append(headers, (std::string("Content-Type: ") + content_type).c_str());
  // No "Expect:" override here: libcurl 7.88 would sign the empty header it
  // then leaves out, and S3 would reject the signature (see s3_signing_test).
  curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
  if (!o.fixed_amz_date.empty())
    headers = curl_slist_append(headers, ("x-amz-date: " + o.fixed_amz_date).c_str());
  curl_slist* connect_to =
      o.connect_to.empty() ? nullptr : curl_slist_append(nullptr, o.connect_to.c_str());
  if (connect_to) curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
  const std::string sigv4 = "aws:amz:" + o.region + ":s3";
  const std::string userpwd = o.access_key_id + ":" + o.secret_access_key;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
  if (std::string(method) == "GET" || std::string(method) == "DELETE")
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, o.timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect_to);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK)
    return make_error(std::string(method) + " " + url + ": " + curl_easy_strerror(rc));
  if (r.status < 200 || r.status >= 300) {
    return make_error(std::string(method) + " " + url + ": HTTP " + std::to_string(r.status) + " " +
                      r.body.substr(0, 300));
  }
  return r;
}

namespace {

Result<std::string> read_range(const std::string& path, uint64_t offset, uint64_t size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read " + path);
  in.seekg(std::streamoff(offset));
  std::string data(size, '\0');
  in.read(data.data(), std::streamsize(size));
  if (uint64_t(in.gcount()) != size) return make_error("short read of " + path);
  return data;
}

}  // namespace

Status S3Store::put(const std::string& key, const std::string& file_path) {
  if (!valid_object_key(key)) return make_error("invalid object key '" + key + "'");
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(file_path, ec);
  if (ec) return make_error("cannot stat " + file_path + ": " + ec.message());
  return size > o_.multipart_threshold ? put_multipart(key, file_path, size)
                                       : put_single(key, file_path, size);
}

Status S3Store::put_single(const std::string& key, const std::string& path, uint64_t size) {
  auto data = read_range(path, 0, size);
  if (!data.ok()) return data.error();
  auto r = s3_request(o_, "PUT", object_url(key), *data, content_type_for(key));
  if (!r.ok()) return r.error();
  return {};
}

Status S3Store::put_multipart(const std::string& key, const std::string& path, uint64_t size) {
  auto init = s3_request(o_, "POST", object_url(key, "uploads="), "", content_type_for(key));
  if (!init.ok()) return init.error();
  std::smatch m;
  static const std::regex kUploadId("<UploadId>([^<]+)</UploadId>");
  if (!std::regex_search(init->body, m, kUploadId))
    return make_error("no UploadId in the S3 reply");
  const std::string upload_id = m[1];
  std::vector<std::string> etags;
  Status status;
  for (uint64_t off = 0, part = 1; off < size && status.ok(); off += o_.part_size, ++part) {
    const uint64_t n = std::min(o_.part_size, size - off);
    auto data = read_range(path, off, n);
    if (!data.ok()) {
      status = data.error();
      break;
    }
    const std::string q = "partNumber=" + std::to_string(part) + "&uploadId=" + upload_id;
    // A failed part is retried here a few times before the whole upload is.
    Result<Response> r = make_error("not sent");
    for (int attempt = 0; attempt < 3 && !r.ok(); ++attempt)
      r = s3_request(o_, "PUT", object_url(key, q), *data, nullptr);
    if (!r.ok()) {
      status = r.error();
    } else {
      etags.push_back(r->etag);
    }
  }
  if (!status.ok()) {
    (void)s3_request(o_, "DELETE", object_url(key, "uploadId=" + upload_id), "", nullptr);
    return status;
  }
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
           "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  auto done =
      s3_request(o_, "POST", object_url(key, "uploadId=" + upload_id), xml, "application/xml");
  if (!done.ok()) return done.error();
  spdlog::info("s3: {} uploaded in {} parts", key, etags.size());
  return {};
}

}  // namespace lss::storage
