#include "catalog/mongo_mapping.hpp"

namespace lss::catalog {

namespace {
std::string get_str(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
    return bson_iter_utf8(&it, nullptr);
  return {};
}
int64_t get_int(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, key) &&
      (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_DOUBLE(&it))) {
    return bson_iter_as_int64(&it);
  }
  return 0;
}
double get_double(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_DOUBLE(&it))
    return bson_iter_double(&it);
  return double(get_int(doc, key));
}
void put_str(bson_t* d, const char* k, const std::string& v) {
  BSON_APPEND_UTF8(d, k, v.c_str());
}

std::string escape(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(char(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}
}  // namespace

bson_t* stream_document(const StreamRecord& s) {
  bson_t* d = bson_new();
  put_str(d, "_id", s.id);
  put_str(d, "id", s.id);
  put_str(d, "name", s.name);
  put_str(d, "publisher", s.publisher);
  put_str(d, "started_at", s.started_at);
  if (s.ended_at.empty()) {
    BSON_APPEND_NULL(d, "ended_at");
  } else {
    put_str(d, "ended_at", s.ended_at);
  }
  put_str(d, "status", s.status);
  BSON_APPEND_INT32(d, "peak_viewers", s.peak_viewers);
  BSON_APPEND_INT32(d, "clip_count", s.clip_count);
  put_str(d, "video_codec", s.video_codec);
  put_str(d, "audio_codec", s.audio_codec);
  return d;
}

bson_t* clip_document(const ClipRecord& c) {
  bson_t* d = bson_new();
  put_str(d, "_id", c.stream_id + "/" + std::to_string(c.index));
  put_str(d, "stream_id", c.stream_id);
  put_str(d, "stream", c.stream_name);
  BSON_APPEND_INT32(d, "index", c.index);
  put_str(d, "started_at", c.started_at);
  put_str(d, "ended_at", c.ended_at);
  BSON_APPEND_DOUBLE(d, "duration", c.duration);
  BSON_APPEND_INT64(d, "bytes", int64_t(c.bytes));
  put_str(d, "video_codec", c.video_codec);
  put_str(d, "audio_codec", c.audio_codec);
  BSON_APPEND_INT32(d, "width", c.width);
  BSON_APPEND_INT32(d, "height", c.height);
  put_str(d, "object_key", c.object_key);
  put_str(d, "url", c.url);
  return d;
}

bool stream_from_document(const bson_t* d, StreamRecord& s) {
  s.id = get_str(d, "id");
  if (s.id.empty()) s.id = get_str(d, "_id");
  s.name = get_str(d, "name");
  s.publisher = get_str(d, "publisher");
  s.started_at = get_str(d, "started_at");
  s.ended_at = get_str(d, "ended_at");
  s.status = get_str(d, "status");
  s.peak_viewers = int(get_int(d, "peak_viewers"));
  s.clip_count = int(get_int(d, "clip_count"));
  s.video_codec = get_str(d, "video_codec");
  s.audio_codec = get_str(d, "audio_codec");
  return !s.id.empty() && !s.name.empty();
}

bool clip_from_document(const bson_t* d, ClipRecord& c) {
  c.stream_id = get_str(d, "stream_id");
  c.stream_name = get_str(d, "stream");
  c.index = int(get_int(d, "index"));
  c.started_at = get_str(d, "started_at");
  c.ended_at = get_str(d, "ended_at");
  c.duration = get_double(d, "duration");
  c.bytes = uint64_t(get_int(d, "bytes"));
  c.video_codec = get_str(d, "video_codec");
  c.audio_codec = get_str(d, "audio_codec");
  c.width = int(get_int(d, "width"));
  c.height = int(get_int(d, "height"));
  c.object_key = get_str(d, "object_key");
  c.url = get_str(d, "url");
  return !c.stream_id.empty() && !c.object_key.empty();
}

std::string mongo_url(const std::string& url, const std::string& user, const std::string& password,
                      const std::string& host) {
  if (!url.empty()) return url;
  if (host.empty()) return {};
  if (host.rfind("mongodb://", 0) == 0 || host.rfind("mongodb+srv://", 0) == 0) return host;
  // Atlas clusters (the seed's setup, hence its IP whitelist) resolve through SRV records.
  const bool atlas = host.find(".mongodb.net") != std::string::npos;
  std::string auth = user.empty() ? "" : escape(user) + ":" + escape(password) + "@";
  return std::string(atlas ? "mongodb+srv://" : "mongodb://") + auth + host + "/";
}

}  // namespace lss::catalog
