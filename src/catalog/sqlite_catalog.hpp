#pragma once
// The embedded default catalog: one SQLite file (DATA_DIR/catalog.sqlite) in
// WAL mode. One connection guarded by a mutex: catalog calls are control
// path (a handful per stream and clip).
#include <mutex>
#include <string>

#include "catalog/catalog.hpp"

struct sqlite3;

namespace lss::catalog {

class SqliteCatalog final : public Catalog {
 public:
  static Result<std::unique_ptr<SqliteCatalog>> open(const std::string& path);
  ~SqliteCatalog() override;

  Status upsert_stream(const StreamRecord& s) override;
  Status end_stream(const std::string& id, const std::string& ended_at, int peak_viewers) override;
  Status end_all_live(const std::string& ended_at) override;
  Status add_clip(const ClipRecord& c) override;
  Result<std::vector<StreamRecord>> list_streams(const Page& page,
                                                 const std::string& status) override;
  Result<std::optional<StreamRecord>> get_stream(const std::string& id) override;
  Result<std::vector<ClipRecord>> list_clips(const std::string& stream, const std::string& since,
                                             const Page& page) override;

 private:
  explicit SqliteCatalog(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace lss::catalog
