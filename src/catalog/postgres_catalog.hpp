#pragma once
// The catalog in PostgreSQL (DATABASE_URL), through libpq. One connection
// guarded by a mutex, re-established when it drops; the schema is created
// on first use and matches the SQLite one.
#include <mutex>
#include <string>

#include "catalog/catalog.hpp"

typedef struct pg_conn PGconn;

namespace lss::catalog {

class PostgresCatalog final : public Catalog {
 public:
  static Result<std::unique_ptr<PostgresCatalog>> open(const std::string& url);
  ~PostgresCatalog() override;

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
  explicit PostgresCatalog(PGconn* c) : conn_(c) {}
  Status ensure_connected();
  std::mutex mu_;
  PGconn* conn_;
};

}  // namespace lss::catalog
