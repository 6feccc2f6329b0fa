#include "catalog/sqlite_catalog.hpp"

#include <sqlite3.h>

#include <functional>

#include "catalog/sql_schema.hpp"

namespace lss::catalog {

namespace {

// A prepared statement with positional binding, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~Stmt() { sqlite3_finalize(st_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& text(const std::string& v) {
    sqlite3_bind_text(st_, ++n_, v.c_str(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& null_or_text(const std::string& v) {
    if (v.empty()) {
      sqlite3_bind_null(st_, ++n_);
      return *this;
    }
    return text(v);
  }
  Stmt& i64(int64_t v) {
    sqlite3_bind_int64(st_, ++n_, v);
    return *this;
  }
  Stmt& dbl(double v) {
    sqlite3_bind_double(st_, ++n_, v);
    return *this;
  }
  int step() { return sqlite3_step(st_); }
  std::string col_text(int i) {
    const auto* t = sqlite3_column_text(st_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  int64_t col_i64(int i) { return sqlite3_column_int64(st_, i); }
  double col_dbl(int i) { return sqlite3_column_double(st_, i); }

 private:
  sqlite3_stmt* st_ = nullptr;
  int rc_;
  int n_ = 0;
};

Error db_error(sqlite3* db, const char* what) {
  return make_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

constexpr const char* kStreamColumns =
    "id, name, publisher, started_at, ended_at, status, peak_viewers, clip_count, video_codec, "
    "audio_codec";

StreamRecord read_stream(Stmt& s) {
  StreamRecord r;
  r.id = s.col_text(0);
  r.name = s.col_text(1);
  r.publisher = s.col_text(2);
  r.started_at = s.col_text(3);
  r.ended_at = s.col_text(4);
  r.status = s.col_text(5);
  r.peak_viewers = int(s.col_i64(6));
  r.clip_count = int(s.col_i64(7));
  r.video_codec = s.col_text(8);
  r.audio_codec = s.col_text(9);
  return r;
}

}  // namespace

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error("cannot open the catalog " + path + ": " + msg);
  }
  std::unique_ptr<SqliteCatalog> c(new SqliteCatalog(db));
  sqlite3_busy_timeout(db, 5000);
  if (auto s = c->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !s)
    return make_error(s.message());
  if (auto s = c->exec(kSqlSchema); !s) return make_error(s.message());
  return c;
}

SqliteCatalog::~SqliteCatalog() {
  sqlite3_close(db_);
}

Status SqliteCatalog::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error("catalog: " + msg);
  }
  return {};
}

Status SqliteCatalog::upsert_stream(const StreamRecord& s) {
  std::lock_guard lock(mu_);
  Stmt st(
      db_,
      "INSERT INTO streams (id, name, publisher, started_at, ended_at, status, peak_viewers, "
      "clip_count, "
      "video_codec, audio_codec) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
      "name=excluded.name, publisher=excluded.publisher, started_at=excluded.started_at, "
      "ended_at=excluded.ended_at, status=excluded.status, peak_viewers=MAX(peak_viewers, "
      "excluded.peak_viewers), video_codec=excluded.video_codec, audio_codec=excluded.audio_codec");
  if (!st.ok()) return db_error(db_, "upsert_stream");
  st.text(s.id)
      .text(s.name)
      .text(s.publisher)
      .text(s.started_at)
      .null_or_text(s.ended_at)
      .text(s.status);
  st.i64(s.peak_viewers).i64(s.clip_count).text(s.video_codec).text(s.audio_codec);
  if (st.step() != SQLITE_DONE) return db_error(db_, "upsert_stream");
  return {};
}

Status SqliteCatalog::end_stream(const std::string& id, const std::string& ended_at,
                                 int peak_viewers) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "UPDATE streams SET ended_at=?, status='ended', peak_viewers=MAX(peak_viewers, ?) WHERE "
          "id=?");
  if (!st.ok()) return db_error(db_, "end_stream");
  st.text(ended_at).i64(peak_viewers).text(id);
  if (st.step() != SQLITE_DONE) return db_error(db_, "end_stream");
  return {};
}

Status SqliteCatalog::end_all_live(const std::string& ended_at) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "UPDATE streams SET ended_at=?, status='ended' WHERE status='live'");
  if (!st.ok()) return db_error(db_, "end_all_live");
  st.text(ended_at);
  if (st.step() != SQLITE_DONE) return db_error(db_, "end_all_live");
  return {};
}

Status SqliteCatalog::add_clip(const ClipRecord& c) {
  std::lock_guard lock(mu_);
  if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
  Stmt ins(db_,
           "INSERT OR IGNORE INTO clips (stream_id, stream_name, idx, started_at, ended_at, "
           "duration, bytes, "
           "video_codec, audio_codec, width, height, object_key, url) VALUES "
           "(?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!ins.ok()) {
    (void)exec("ROLLBACK");
    return db_error(db_, "add_clip");
  }
  ins.text(c.stream_id).text(c.stream_name).i64(c.index).text(c.started_at).text(c.ended_at);
  ins.dbl(c.duration).i64(int64_t(c.bytes)).text(c.video_codec).text(c.audio_codec);
  ins.i64(c.width).i64(c.height).text(c.object_key).text(c.url);
  if (ins.step() != SQLITE_DONE) {
    auto e = db_error(db_, "add_clip");
    (void)exec("ROLLBACK");
    return e;
  }
  if (sqlite3_changes(db_) > 0) {
    Stmt upd(db_, "UPDATE streams SET clip_count = clip_count + 1 WHERE id=?");
    upd.text(c.stream_id);
    upd.step();
  }
  return exec("COMMIT");
}

Result<std::vector<StreamRecord>> SqliteCatalog::list_streams(const Page& page,
                                                              const std::string& status) {
  std::lock_guard lock(mu_);
  const std::string sql = std::string("SELECT ") + kStreamColumns + " FROM streams" +
                          (status.empty() ? "" : " WHERE status=?") +
                          " ORDER BY started_at DESC, id LIMIT ? OFFSET ?";
  Stmt st(db_, sql.c_str());
  if (!st.ok()) return db_error(db_, "list_streams");
  if (!status.empty()) st.text(status);
  st.i64(page.limit).i64(page.offset);
  std::vector<StreamRecord> out;
  while (st.step() == SQLITE_ROW) out.push_back(read_stream(st));
  return out;
}

Result<std::optional<StreamRecord>> SqliteCatalog::get_stream(const std::string& id) {
  std::lock_guard lock(mu_);
  const std::string sql = std::string("SELECT ") + kStreamColumns + " FROM streams WHERE id=?";
  Stmt st(db_, sql.c_str());
  if (!st.ok()) return db_error(db_, "get_stream");
  st.text(id);
  if (st.step() == SQLITE_ROW) return std::optional<StreamRecord>(read_stream(st));
  return std::optional<StreamRecord>();
}

Result<std::vector<ClipRecord>> SqliteCatalog::list_clips(const std::string& stream,
                                                          const std::string& since,
                                                          const Page& page) {
  std::lock_guard lock(mu_);
  Stmt st(
      db_,
      "SELECT stream_id, stream_name, idx, started_at, ended_at, duration, bytes, video_codec, "
      "audio_codec, "
      "width, height, object_key, url FROM clips WHERE (?1 = '' OR stream_name = ?1 OR stream_id = "
      "?1) "
      "AND (?2 = '' OR started_at >= ?2) ORDER BY started_at, stream_id, idx LIMIT ?3 OFFSET ?4");
  if (!st.ok()) return db_error(db_, "list_clips");
  st.text(stream).text(since).i64(page.limit).i64(page.offset);
  std::vector<ClipRecord> out;
  while (st.step() == SQLITE_ROW) {
    ClipRecord c;
    c.stream_id = st.col_text(0);
    c.stream_name = st.col_text(1);
    c.index = int(st.col_i64(2));
    c.started_at = st.col_text(3);
    c.ended_at = st.col_text(4);
    c.duration = st.col_dbl(5);
    c.bytes = uint64_t(st.col_i64(6));
    c.video_codec = st.col_text(7);
    c.audio_codec = st.col_text(8);
    c.width = int(st.col_i64(9));
    c.height = int(st.col_i64(10));
    c.object_key = st.col_text(11);
    c.url = st.col_text(12);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace lss::catalog
