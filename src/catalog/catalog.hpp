#pragma once
// Where stream and clip records live, behind one small interface so the
// backends (SQLite by default; MongoDB and PostgreSQL to come) share one
// contract test. Calls are made off the media threads.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lss::catalog {

struct StreamRecord {
  std::string id;  // the stream's session id
  std::string name;
  std::string publisher;             // remote address of the publisher
  std::string started_at, ended_at;  // ISO 8601 UTC; ended_at empty while live
  std::string status;                // "live" or "ended"
  int peak_viewers = 0;
  int clip_count = 0;
  std::string video_codec, audio_codec;
};

struct ClipRecord {
  std::string stream_id, stream_name;
  int index = 0;
  std::string started_at, ended_at;
  double duration = 0;
  uint64_t bytes = 0;
  std::string video_codec, audio_codec;
  int width = 0, height = 0;
  std::string object_key, url;
};

struct Page {
  int limit = 50;
  int offset = 0;
};

class Catalog {
 public:
  virtual ~Catalog() = default;
  virtual Status upsert_stream(const StreamRecord& s) = 0;
  virtual Status end_stream(const std::string& id, const std::string& ended_at,
                            int peak_viewers) = 0;
  // Marks streams still "live" as ended: called at start, after a crash.
  virtual Status end_all_live(const std::string& ended_at) = 0;
  // Adds a clip (idempotent on stream id + index) and counts it on its stream.
  virtual Status add_clip(const ClipRecord& c) = 0;
  virtual Result<std::vector<StreamRecord>> list_streams(const Page& page,
                                                         const std::string& status) = 0;
  virtual Result<std::optional<StreamRecord>> get_stream(const std::string& id) = 0;
  // Clips of a stream given by name or id, started at or after `since` (ISO 8601; empty: all).
  virtual Result<std::vector<ClipRecord>> list_clips(const std::string& stream,
                                                     const std::string& since,
                                                     const Page& page) = 0;
};

nlohmann::json to_json(const StreamRecord& s);
nlohmann::json to_json(const ClipRecord& c);

}  // namespace lss::catalog
