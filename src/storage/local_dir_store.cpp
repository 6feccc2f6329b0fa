#include "storage/local_dir_store.hpp"

#include <filesystem>

namespace lss::storage {
namespace fs = std::filesystem;

std::string public_url(const std::string& file_host, const std::string& fallback_prefix,
                       const std::string& key) {
  if (file_host.empty()) return fallback_prefix + key;
  std::string base = file_host;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + key;
}

bool valid_object_key(const std::string& key) {
  if (key.empty() || key.size() > 1024 || key.front() == '/') return false;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    const std::string part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
        return false;
    }
    start = end + 1;
  }
  return true;
}

Status LocalDirStore::put(const std::string& key, const std::string& file_path) {
  if (!valid_object_key(key)) return make_error("invalid object key '" + key + "'");
  std::error_code ec;
  const fs::path dest = fs::path(root_) / key;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return make_error("cannot create " + dest.parent_path().string() + ": " + ec.message());
  // Copy then rename, so a crash never leaves a half object under its key.
  const fs::path tmp = dest.string() + ".tmp";
  fs::copy_file(file_path, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) return make_error("cannot store " + key + ": " + ec.message());
  fs::rename(tmp, dest, ec);
  if (ec) return make_error("cannot store " + key + ": " + ec.message());
  return {};
}

std::string LocalDirStore::url(const std::string& key) const {
  return public_url(file_host_, "/recordings/", key);
}

}  // namespace lss::storage
