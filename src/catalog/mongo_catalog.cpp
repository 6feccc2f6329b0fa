#include "catalog/mongo_catalog.hpp"

#include <mongoc/mongoc.h>

#include <mutex>

#include "catalog/mongo_mapping.hpp"

namespace lss::catalog {

namespace {

std::once_flag g_init;

// A pooled client and the two collections for the duration of one call.
class Session {
 public:
  Session(mongoc_client_pool_t* pool, const MongoOptions& o)
      : pool_(pool), client_(mongoc_client_pool_pop(pool)) {
    streams =
        mongoc_client_get_collection(client_, o.database.c_str(), o.streams_collection.c_str());
    clips = mongoc_client_get_collection(client_, o.database.c_str(), o.clips_collection.c_str());
  }
  ~Session() {
    mongoc_collection_destroy(streams);
    mongoc_collection_destroy(clips);
    mongoc_client_pool_push(pool_, client_);
  }
  mongoc_collection_t* streams;
  mongoc_collection_t* clips;

 private:
  mongoc_client_pool_t* pool_;
  mongoc_client_t* client_;
};

struct Bson {
  bson_t* b;
  explicit Bson(bson_t* p) : b(p) {}
  ~Bson() { bson_destroy(b); }
};

Error mongo_error(const char* what, const bson_error_t& e) {
  return make_error(std::string(what) + ": " + e.message);
}

}  // namespace

Result<std::unique_ptr<MongoCatalog>> MongoCatalog::open(const MongoOptions& options) {
  std::call_once(g_init, [] { mongoc_init(); });
  bson_error_t err;
  mongoc_uri_t* uri = mongoc_uri_new_with_error(options.url.c_str(), &err);
  if (!uri) return make_error(std::string("invalid MongoDB URL: ") + err.message);
  mongoc_client_pool_t* pool = mongoc_client_pool_new(uri);
  mongoc_uri_destroy(uri);
  if (!pool) return make_error("cannot create a MongoDB client pool");
  mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
  std::unique_ptr<MongoCatalog> c(new MongoCatalog(pool, options));
  // Fail fast with a clear message when the server is unreachable.
  mongoc_client_t* client = mongoc_client_pool_pop(pool);
  Bson ping(BCON_NEW("ping", BCON_INT32(1)));
  const bool ok = mongoc_client_command_simple(client, "admin", ping.b, nullptr, nullptr, &err);
  mongoc_client_pool_push(pool, client);
  if (!ok) return mongo_error("cannot reach MongoDB", err);
  return c;
}

MongoCatalog::~MongoCatalog() {
  mongoc_client_pool_destroy(pool_);
}

Status MongoCatalog::upsert_stream(const StreamRecord& s) {
  Session db(pool_, o_);
  Bson doc(stream_document(s));
  Bson selector(BCON_NEW("_id", BCON_UTF8(s.id.c_str())));
  Bson opts(BCON_NEW("upsert", BCON_BOOL(true)));
  bson_error_t err;
  if (!mongoc_collection_replace_one(db.streams, selector.b, doc.b, opts.b, nullptr, &err))
    return mongo_error("upsert_stream", err);
  return {};
}

Status MongoCatalog::end_stream(const std::string& id, const std::string& ended_at,
                                int peak_viewers) {
  Session db(pool_, o_);
  Bson selector(BCON_NEW("_id", BCON_UTF8(id.c_str())));
  Bson update(BCON_NEW("$set", "{", "ended_at", BCON_UTF8(ended_at.c_str()), "status",
                       BCON_UTF8("ended"), "}", "$max", "{", "peak_viewers",
                       BCON_INT32(peak_viewers), "}"));
  bson_error_t err;
  if (!mongoc_collection_update_one(db.streams, selector.b, update.b, nullptr, nullptr, &err))
    return mongo_error("end_stream", err);
  return {};
}

Status MongoCatalog::end_all_live(const std::string& ended_at) {
  Session db(pool_, o_);
  Bson selector(BCON_NEW("status", BCON_UTF8("live")));
  Bson update(BCON_NEW("$set", "{", "ended_at", BCON_UTF8(ended_at.c_str()), "status",
                       BCON_UTF8("ended"), "}"));
  bson_error_t err;
  if (!mongoc_collection_update_many(db.streams, selector.b, update.b, nullptr, nullptr, &err))
    return mongo_error("end_all_live", err);
  return {};
}

Status MongoCatalog::add_clip(const ClipRecord& c) {
  Session db(pool_, o_);
  Bson doc(clip_document(c));
  bson_error_t err;
  bson_t reply;
  // Insert once: a retried upload hits the duplicate _id and changes nothing.
  if (!mongoc_collection_insert_one(db.clips, doc.b, nullptr, &reply, &err)) {
    bson_destroy(&reply);
    if (err.code == 11000) return {};  // duplicate key
    return mongo_error("add_clip", err);
  }
  bson_destroy(&reply);
  Bson selector(BCON_NEW("_id", BCON_UTF8(c.stream_id.c_str())));
  Bson update(BCON_NEW("$inc", "{", "clip_count", BCON_INT32(1), "}"));
  if (!mongoc_collection_update_one(db.streams, selector.b, update.b, nullptr, nullptr, &err))
    return mongo_error("add_clip", err);
  return {};
}

Result<std::vector<StreamRecord>> MongoCatalog::list_streams(const Page& page,
                                                             const std::string& status) {
  Session db(pool_, o_);
  Bson filter(status.empty() ? bson_new() : BCON_NEW("status", BCON_UTF8(status.c_str())));
  Bson opts(BCON_NEW("sort", "{", "started_at", BCON_INT32(-1), "_id", BCON_INT32(1), "}", "limit",
                     BCON_INT64(page.limit), "skip", BCON_INT64(page.offset)));
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(db.streams, filter.b, opts.b, nullptr);
  std::vector<StreamRecord> out;
  const bson_t* doc;
  while (mongoc_cursor_next(cur, &doc)) {
    StreamRecord s;
    if (stream_from_document(doc, s)) out.push_back(std::move(s));
  }
  bson_error_t err;
  const bool failed = mongoc_cursor_error(cur, &err);
  mongoc_cursor_destroy(cur);
  if (failed) return mongo_error("list_streams", err);
  return out;
}

Result<std::optional<StreamRecord>> MongoCatalog::get_stream(const std::string& id) {
  Session db(pool_, o_);
  Bson filter(BCON_NEW("_id", BCON_UTF8(id.c_str())));
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(db.streams, filter.b, nullptr, nullptr);
  std::optional<StreamRecord> out;
  const bson_t* doc;
  if (mongoc_cursor_next(cur, &doc)) {
    StreamRecord s;
    if (stream_from_document(doc, s)) out = std::move(s);
  }
  bson_error_t err;
  const bool failed = mongoc_cursor_error(cur, &err);
  mongoc_cursor_destroy(cur);
  if (failed) return mongo_error("get_stream", err);
  return out;
}

Result<std::vector<ClipRecord>> MongoCatalog::list_clips(const std::string& stream,
                                                         const std::string& since,
                                                         const Page& page) {
  Session db(pool_, o_);
  bson_t* f = bson_new();
  if (!stream.empty()) {
    bson_t arr, a, b;
    BSON_APPEND_ARRAY_BEGIN(f, "$or", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &a);
    BSON_APPEND_UTF8(&a, "stream", stream.c_str());
    bson_append_document_end(&arr, &a);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "1", &b);
    BSON_APPEND_UTF8(&b, "stream_id", stream.c_str());
    bson_append_document_end(&arr, &b);
    bson_append_array_end(f, &arr);
  }
  if (!since.empty()) {
    bson_t range;
    BSON_APPEND_DOCUMENT_BEGIN(f, "started_at", &range);
    BSON_APPEND_UTF8(&range, "$gte", since.c_str());
    bson_append_document_end(f, &range);
  }
  Bson filter(f);
  Bson opts(BCON_NEW("sort", "{", "started_at", BCON_INT32(1), "stream_id", BCON_INT32(1), "index",
                     BCON_INT32(1), "}", "limit", BCON_INT64(page.limit), "skip",
                     BCON_INT64(page.offset)));
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(db.clips, filter.b, opts.b, nullptr);
  std::vector<ClipRecord> out;
  const bson_t* doc;
  while (mongoc_cursor_next(cur, &doc)) {
    ClipRecord c;
    if (clip_from_document(doc, c)) out.push_back(std::move(c));
  }
  bson_error_t err;
  const bool failed = mongoc_cursor_error(cur, &err);
  mongoc_cursor_destroy(cur);
  if (failed) return mongo_error("list_clips", err);
  return out;
}

}  // namespace lss::catalog
