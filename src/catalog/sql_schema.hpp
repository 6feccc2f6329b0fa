#pragma once
// The catalog's tables, shared by the SQL backends: PostgreSQL types that
// SQLite also accepts (DOUBLE PRECISION and BIGINT get REAL and INTEGER
// affinity there), so both hold the same records the same way.

namespace lss::catalog {

inline constexpr const char* kSqlSchema = R"sql(
CREATE TABLE IF NOT EXISTS streams (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  publisher TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL,
  ended_at TEXT,
  status TEXT NOT NULL,
  peak_viewers INTEGER NOT NULL DEFAULT 0,
  clip_count INTEGER NOT NULL DEFAULT 0,
  video_codec TEXT NOT NULL DEFAULT '',
  audio_codec TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS streams_name ON streams(name);
CREATE INDEX IF NOT EXISTS streams_started ON streams(started_at);
CREATE TABLE IF NOT EXISTS clips (
  stream_id TEXT NOT NULL,
  stream_name TEXT NOT NULL,
  idx INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT NOT NULL,
  duration DOUBLE PRECISION NOT NULL,
  bytes BIGINT NOT NULL,
  video_codec TEXT NOT NULL DEFAULT '',
  audio_codec TEXT NOT NULL DEFAULT '',
  width INTEGER NOT NULL DEFAULT 0,
  height INTEGER NOT NULL DEFAULT 0,
  object_key TEXT NOT NULL,
  url TEXT NOT NULL,
  PRIMARY KEY (stream_id, idx)
);
CREATE INDEX IF NOT EXISTS clips_name ON clips(stream_name, started_at);
)sql";

}  // namespace lss::catalog
