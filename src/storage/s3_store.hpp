#pragma once
// S3-compatible object storage (Storj gateway, AWS, MinIO, Ceph) over libcurl,
// signed with libcurl's built-in AWS SigV4. Large clips go up as multipart
// uploads, retrying a part rather than the whole file. Each put() runs on the
// uploader thread and blocks it only.
#include <string>

#include "storage/object_store.hpp"

namespace lss::storage {

struct S3Options {
  std::string endpoint;  // "https://gateway.storjshare.io", "http://127.0.0.1:9000"
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key_id, secret_access_key;
  bool path_style = true;  // https://endpoint/bucket/key (else https://bucket.endpoint/key)
  std::string file_host;   // public URL prefix (FILE_HOST); else the object URL
  uint64_t multipart_threshold = 16 * 1024 * 1024;
  uint64_t part_size = 8 * 1024 * 1024;  // >= 5 MiB (S3's minimum but for the last part)
  long timeout_seconds = 300;
  // For reproducible signatures in tests: a fixed x-amz-date and a
  // "host:port:connect-host:connect-port" override (CURLOPT_CONNECT_TO).
  std::string fixed_amz_date, connect_to;
};

struct S3Response {
  long status = 0;
  std::string body;
  std::string etag;
};

// One SigV4-signed request (libcurl signs; we add x-amz-content-sha256, which
// libcurl 7.88 does not). Non-2xx answers are errors carrying the status.
Result<S3Response> s3_request(const S3Options& o, const char* method, const std::string& url,
                              const std::string& body, const char* content_type);

class S3Store final : public ObjectStore {
 public:
  explicit S3Store(S3Options options);
  Status put(const std::string& key, const std::string& file_path) override;
  std::string url(const std::string& key) const override;
  std::string describe() const override;

  // The request URL of an object (with `query`, e.g. "uploads" or "partNumber=1&uploadId=...").
  std::string object_url(const std::string& key, const std::string& query = {}) const;

 private:
  Status put_single(const std::string& key, const std::string& path, uint64_t size);
  Status put_multipart(const std::string& key, const std::string& path, uint64_t size);
  S3Options o_;
};

// Percent-encodes each "/"-separated segment of an object key (RFC 3986 unreserved kept).
std::string encode_key(const std::string& key);
// Hex SHA-256, for x-amz-content-sha256.
std::string sha256_hex(const void* data, size_t size);

}  // namespace lss::storage
