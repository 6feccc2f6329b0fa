#include "catalog/postgres_catalog.hpp"

#include <libpq-fe.h>

#include <memory>

#include "catalog/sql_schema.hpp"

namespace lss::catalog {

namespace {

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Runs a parameterized statement; parameters are text (NULL for nullptr).
ResultPtr run(PGconn* c, const char* sql, std::initializer_list<const char*> params) {
  std::vector<const char*> v(params);
  return ResultPtr(PQexecParams(c, sql, int(v.size()), nullptr, v.data(), nullptr, nullptr, 0),
                   PQclear);
}

bool ok(const ResultPtr& r) {
  const auto st = PQresultStatus(r.get());
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

Error pg_error(PGconn* c, const char* what) {
  return make_error(std::string(what) + ": " + PQerrorMessage(c));
}

StreamRecord read_stream(PGresult* r, int row) {
  auto s = [&](int col) { return std::string(PQgetvalue(r, row, col)); };
  StreamRecord x;
  x.id = s(0);
  x.name = s(1);
  x.publisher = s(2);
  x.started_at = s(3);
  x.ended_at = s(4);
  x.status = s(5);
  x.peak_viewers = std::atoi(PQgetvalue(r, row, 6));
  x.clip_count = std::atoi(PQgetvalue(r, row, 7));
  x.video_codec = s(8);
  x.audio_codec = s(9);
  return x;
}

constexpr const char* kStreamColumns =
    "id, name, publisher, started_at, COALESCE(ended_at, ''), status, peak_viewers, clip_count, "
    "video_codec, "
    "audio_codec";

}  // namespace

Result<std::unique_ptr<PostgresCatalog>> PostgresCatalog::open(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return make_error("cannot connect to DATABASE_URL: " + msg);
  }
  std::unique_ptr<PostgresCatalog> cat(new PostgresCatalog(c));
  ResultPtr r(PQexec(c, "SET client_min_messages TO WARNING"), PQclear);
  ResultPtr schema(PQexec(c, kSqlSchema), PQclear);
  if (!ok(schema)) return pg_error(c, "cannot create the catalog schema");
  return cat;
}

PostgresCatalog::~PostgresCatalog() {
  PQfinish(conn_);
}

Status PostgresCatalog::ensure_connected() {
  if (PQstatus(conn_) == CONNECTION_OK) return {};
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return pg_error(conn_, "catalog connection lost");
  return {};
}

Status PostgresCatalog::upsert_stream(const StreamRecord& s) {
  std::lock_guard lock(mu_);
  if (auto st = ensure_connected(); !st) return st;
  const std::string peak = std::to_string(s.peak_viewers), clips = std::to_string(s.clip_count);
  auto r = run(
      conn_,
      "INSERT INTO streams (id, name, publisher, started_at, ended_at, status, peak_viewers, "
      "clip_count, "
      "video_codec, audio_codec) VALUES ($1,$2,$3,$4,$5,$6,$7::int,$8::int,$9,$10) ON CONFLICT "
      "(id) DO "
      "UPDATE SET name=EXCLUDED.name, publisher=EXCLUDED.publisher, "
      "started_at=EXCLUDED.started_at, "
      "ended_at=EXCLUDED.ended_at, status=EXCLUDED.status, "
      "peak_viewers=GREATEST(streams.peak_viewers, "
      "EXCLUDED.peak_viewers), video_codec=EXCLUDED.video_codec, audio_codec=EXCLUDED.audio_codec",
      {s.id.c_str(), s.name.c_str(), s.publisher.c_str(), s.started_at.c_str(),
       s.ended_at.empty() ? nullptr : s.ended_at.c_str(), s.status.c_str(), peak.c_str(),
       clips.c_str(), s.video_codec.c_str(), s.audio_codec.c_str()});
  if (!ok(r)) return pg_error(conn_, "upsert_stream");
  return {};
}

Status PostgresCatalog::end_stream(const std::string& id, const std::string& ended_at,
                                   int peak_viewers) {
  std::lock_guard lock(mu_);
  if (auto st = ensure_connected(); !st) return st;
  const std::string peak = std::to_string(peak_viewers);
  auto r = run(conn_,
               "UPDATE streams SET ended_at=$1, status='ended', "
               "peak_viewers=GREATEST(peak_viewers, $2::int) "
               "WHERE id=$3",
               {ended_at.c_str(), peak.c_str(), id.c_str()});
  if (!ok(r)) return pg_error(conn_, "end_stream");
  return {};
}

Status PostgresCatalog::end_all_live(const std::string& ended_at) {
  std::lock_guard lock(mu_);
  if (auto st = ensure_connected(); !st) return st;
  auto r = run(conn_, "UPDATE streams SET ended_at=$1, status='ended' WHERE status='live'",
               {ended_at.c_str()});
  if (!ok(r)) return pg_error(conn_, "end_all_live");
  return {};
}

Status PostgresCatalog::add_clip(const ClipRecord& c) {
  std::lock_guard lock(mu_);
  if (auto st = ensure_connected(); !st) return st;
  const std::string idx = std::to_string(c.index), dur = std::to_string(c.duration),
                    bytes = std::to_string(c.bytes), w = std::to_string(c.width),
                    h = std::to_string(c.height);
  // One statement: the insert and the count move together, and a retried
  // upload changes nothing.
  auto r =
      run(conn_,
          "WITH ins AS (INSERT INTO clips (stream_id, stream_name, idx, started_at, ended_at, "
          "duration, bytes, "
          "video_codec, audio_codec, width, height, object_key, url) VALUES ($1,$2,$3::int,$4,$5,"
          "$6::float8,$7::bigint,$8,$9,$10::int,$11::int,$12,$13) ON CONFLICT DO NOTHING RETURNING "
          "stream_id) "
          "UPDATE streams SET clip_count = clip_count + 1 WHERE id IN (SELECT stream_id FROM ins)",
          {c.stream_id.c_str(), c.stream_name.c_str(), idx.c_str(), c.started_at.c_str(),
           c.ended_at.c_str(), dur.c_str(), bytes.c_str(), c.video_codec.c_str(),
           c.audio_codec.c_str(), w.c_str(), h.c_str(), c.object_key.c_str(), c.url.c_str()});
  if (!ok(r)) return pg_error(conn_, "add_clip");
  return {};
}

Result<std::vector<StreamRecord>> PostgresCatalog::list_streams(const Page& page,
                                                                const std::string& status) {
  std::lock_guard lock(mu_);
  if (auto st = ensure_connected(); !st) return make_error(st.message());
  const std::string limit = std::to_string(page.limit), offset = std::to_string(page.offset);
  const std::string sql =
      std::string("SELECT ") + kStreamColumns +
      " FROM streams WHERE ($1 = '' OR status = $1) ORDER BY started_at DESC, id "
      "LIMIT $2::int OFFSET $3::int";
  auto r = run(conn_, sql.c_str(), {status.c_str(), limit.c_str(), offset.c_str()});
  if (!ok(r)) return pg_error(conn_, "list_streams");
  std::vector<StreamRecord> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(read_stream(r.get(), i));
  return out;
}

Result<std::optional<StreamRecord>> PostgresCatalog::get_stream(const std::string& id) {
  std::lock_guard lock(mu_);
  if (auto st = ensure_connected(); !st) return make_error(st.message());
  const std::string sql = std::string("SELECT ") + kStreamColumns + " FROM streams WHERE id=$1";
  auto r = run(conn_, sql.c_str(), {id.c_str()});
  if (!ok(r)) return pg_error(conn_, "get_stream");
  if (PQntuples(r.get()) == 0) return std::optional<StreamRecord>();
  return std::optional<StreamRecord>(read_stream(r.get(), 0));
}

Result<std::vector<ClipRecord>> PostgresCatalog::list_clips(const std::string& stream,
                                                            const std::string& since,
                                                            const Page& page) {
  std::lock_guard lock(mu_);
  if (auto st = ensure_connected(); !st) return make_error(st.message());
  const std::string limit = std::to_string(page.limit), offset = std::to_string(page.offset);
  auto r =
      run(conn_,
          "SELECT stream_id, stream_name, idx, started_at, ended_at, duration, bytes, video_codec, "
          "audio_codec, width, height, object_key, url FROM clips WHERE ($1 = '' OR stream_name = "
          "$1 OR "
          "stream_id = $1) AND ($2 = '' OR started_at >= $2) ORDER BY started_at, stream_id, idx "
          "LIMIT $3::int OFFSET $4::int",
          {stream.c_str(), since.c_str(), limit.c_str(), offset.c_str()});
  if (!ok(r)) return pg_error(conn_, "list_clips");
  std::vector<ClipRecord> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    auto s = [&](int col) { return std::string(PQgetvalue(r.get(), i, col)); };
    ClipRecord c;
    c.stream_id = s(0);
    c.stream_name = s(1);
    c.index = std::atoi(s(2).c_str());
    c.started_at = s(3);
    c.ended_at = s(4);
    c.duration = std::atof(s(5).c_str());
    c.bytes = std::strtoull(s(6).c_str(), nullptr, 10);
    c.video_codec = s(7);
    c.audio_codec = s(8);
    c.width = std::atoi(s(9).c_str());
    c.height = std::atoi(s(10).c_str());
    c.object_key = s(11);
    c.url = s(12);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace lss::catalog
