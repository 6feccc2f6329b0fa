#pragma once
// Where finished clips are stored: a local folder (the embedded default) or
// S3-compatible storage. put() must be idempotent: the uploader retries after
// crashes and outages.
#include <string>

#include "common/result.hpp"

namespace lss::storage {

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Status put(const std::string& key, const std::string& file_path) = 0;
  // The URL a client fetches the object from.
  virtual std::string url(const std::string& key) const = 0;
  virtual std::string describe() const = 0;
};

// FILE_HOST + "/" + key when FILE_HOST is set, else `fallback_prefix` + key.
std::string public_url(const std::string& file_host, const std::string& fallback_prefix,
                       const std::string& key);

// Object keys are "/"-separated safe segments: no empty, "." or ".." parts.
bool valid_object_key(const std::string& key);

}  // namespace lss::storage
