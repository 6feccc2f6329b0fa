#pragma once
// Stores objects as files under one folder (DATA_DIR/recordings), served back
// over HTTP at /recordings/<key> unless FILE_HOST says otherwise.
#include "storage/object_store.hpp"

namespace lss::storage {

class LocalDirStore final : public ObjectStore {
 public:
  LocalDirStore(std::string root, std::string file_host)
      : root_(std::move(root)), file_host_(std::move(file_host)) {}
  Status put(const std::string& key, const std::string& file_path) override;
  std::string url(const std::string& key) const override;
  std::string describe() const override { return "local folder " + root_; }

 private:
  std::string root_, file_host_;
};

}  // namespace lss::storage
