#pragma once
// The catalog in MongoDB (the original server's database), via libmongoc.
// Database and collection names are configurable; a client pool makes calls
// from any thread safe.
#include <string>

#include "catalog/catalog.hpp"

typedef struct _mongoc_client_pool_t mongoc_client_pool_t;

namespace lss::catalog {

struct MongoOptions {
  std::string url;
  std::string database = "live_stream_server";
  std::string streams_collection = "streams";
  std::string clips_collection = "clips";
};

class MongoCatalog final : public Catalog {
 public:
  static Result<std::unique_ptr<MongoCatalog>> open(const MongoOptions& options);
  ~MongoCatalog() override;

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
  MongoCatalog(mongoc_client_pool_t* pool, MongoOptions o) : pool_(pool), o_(std::move(o)) {}
  mongoc_client_pool_t* pool_;
  MongoOptions o_;
};

}  // namespace lss::catalog
