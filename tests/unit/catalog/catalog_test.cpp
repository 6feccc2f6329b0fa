// The catalog contract, run against every backend available here (SQLite;
// PostgreSQL and MongoDB to join the same suite).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <optional>

#include "../support/capturing_server.hpp"
#include "catalog/ip_whitelist.hpp"
#include "catalog/mongo_catalog.hpp"
#include "catalog/mongo_mapping.hpp"
#include "catalog/postgres_catalog.hpp"
#include "catalog/sqlite_catalog.hpp"
#include "postgres_server.hpp"

namespace lss::catalog {
namespace {

namespace fs = std::filesystem;

// One PostgreSQL server for the whole test program.
testing::PostgresServer& postgres() {
  static testing::PostgresServer server;
  return server;
}

class CatalogContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "mongo") {
      // No MongoDB server is packaged for Debian 12: this backend runs when a
      // test server is given (README: LSS_TEST_MONGO_URL).
      const char* url = std::getenv("LSS_TEST_MONGO_URL");
      if (!url || !*url) GTEST_SKIP() << "set LSS_TEST_MONGO_URL to run the MongoDB contract tests";
      MongoOptions o;
      o.url = url;
      o.database = "lss_test_" + std::to_string(::getpid());
      auto c = MongoCatalog::open(o);
      ASSERT_TRUE(c.ok()) << c.error().message;
      catalog_ = std::move(c.value());
      mongo_ = o;
      return;
    }
    if (GetParam() == "postgres") {
      if (!postgres().running()) GTEST_SKIP() << postgres().why_not();
      auto c = PostgresCatalog::open(postgres().url());
      ASSERT_TRUE(c.ok()) << c.error().message;
      catalog_ = std::move(c.value());
      // A clean slate per test.
      reset_ = [] {
        std::system(("psql -q '" + postgres().url() +
                     "' -c 'DROP TABLE IF EXISTS clips, streams' >/dev/null 2>&1")
                        .c_str());
      };
      reset_();
      catalog_ = std::move(PostgresCatalog::open(postgres().url()).value());
      return;
    }
    path_ = fs::temp_directory_path() / ("lss_catalog_" + std::to_string(::getpid()) + ".sqlite");
    fs::remove(path_);
    auto c = SqliteCatalog::open(path_.string());
    ASSERT_TRUE(c.ok()) << c.error().message;
    catalog_ = std::move(c.value());
  }
  std::optional<MongoOptions> mongo_;
  std::unique_ptr<Catalog> reopen() {
    if (mongo_) return std::move(MongoCatalog::open(*mongo_).value());
    if (GetParam() == "postgres") return std::move(PostgresCatalog::open(postgres().url()).value());
    return std::move(SqliteCatalog::open(path_.string()).value());
  }
  std::function<void()> reset_;
  void TearDown() override {
    catalog_.reset();
    if (path_.empty()) return;
    fs::remove(path_);
    fs::remove(path_.string() + "-wal");
    fs::remove(path_.string() + "-shm");
  }
  static StreamRecord stream(const std::string& id, const std::string& name,
                             const std::string& started) {
    return {id, name, "127.0.0.1:5000", started, "", "live", 0, 0, "VP8", "opus"};
  }
  static ClipRecord clip(const StreamRecord& s, int index, const std::string& started) {
    ClipRecord c;
    c.stream_id = s.id;
    c.stream_name = s.name;
    c.index = index;
    c.started_at = started;
    c.ended_at = started;
    c.duration = 4.0;
    c.bytes = 1000 + uint64_t(index);
    c.video_codec = "VP8";
    c.audio_codec = "opus";
    c.width = 640;
    c.height = 480;
    c.object_key = s.name + "/x/" + std::to_string(index) + ".webm";
    c.url = "https://files.example/" + c.object_key;
    return c;
  }
  fs::path path_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_P(CatalogContract, StreamLifecycle) {
  auto a = stream("aa01", "cam1", "2026-01-01T10:00:00Z");
  ASSERT_TRUE(catalog_->upsert_stream(a).ok());
  auto got = catalog_->get_stream("aa01");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->name, "cam1");
  EXPECT_EQ((*got)->status, "live");
  EXPECT_TRUE((*got)->ended_at.empty());
  ASSERT_TRUE(catalog_->end_stream("aa01", "2026-01-01T10:05:00Z", 7).ok());
  got = catalog_->get_stream("aa01");
  EXPECT_EQ((*got)->status, "ended");
  EXPECT_EQ((*got)->ended_at, "2026-01-01T10:05:00Z");
  EXPECT_EQ((*got)->peak_viewers, 7);
  EXPECT_FALSE(catalog_->get_stream("nope")->has_value());
}

TEST_P(CatalogContract, ListsStreamsNewestFirstWithPagingAndStatus) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(catalog_
                    ->upsert_stream(stream("id" + std::to_string(i), "cam" + std::to_string(i),
                                           "2026-01-01T10:0" + std::to_string(i) + ":00Z"))
                    .ok());
  }
  ASSERT_TRUE(catalog_->end_stream("id1", "2026-01-01T11:00:00Z", 0).ok());
  auto all = catalog_->list_streams({3, 0}, "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "id4");
  auto rest = catalog_->list_streams({3, 3}, "");
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].id, "id0");
  EXPECT_EQ(catalog_->list_streams({50, 0}, "ended")->size(), 1u);
  EXPECT_EQ(catalog_->list_streams({50, 0}, "live")->size(), 4u);
  ASSERT_TRUE(catalog_->end_all_live("2026-01-02T00:00:00Z").ok());
  EXPECT_EQ(catalog_->list_streams({50, 0}, "live")->size(), 0u);
}

TEST_P(CatalogContract, ClipsAreIdempotentCountedAndFiltered) {
  auto a = stream("aa01", "cam1", "2026-01-01T10:00:00Z");
  auto b = stream("bb02", "cam2", "2026-01-01T10:00:00Z");
  ASSERT_TRUE(catalog_->upsert_stream(a).ok());
  ASSERT_TRUE(catalog_->upsert_stream(b).ok());
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(
        catalog_->add_clip(clip(a, i, "2026-01-01T10:0" + std::to_string(i) + ":00Z")).ok());
  ASSERT_TRUE(catalog_->add_clip(clip(a, 1, "2026-01-01T10:01:00Z")).ok());  // retried upload
  ASSERT_TRUE(catalog_->add_clip(clip(b, 0, "2026-01-01T10:00:30Z")).ok());
  EXPECT_EQ((*catalog_->get_stream("aa01"))->clip_count, 3);
  auto by_name = catalog_->list_clips("cam1", "", {50, 0});
  ASSERT_TRUE(by_name.ok());
  ASSERT_EQ(by_name->size(), 3u);
  EXPECT_EQ((*by_name)[2].index, 2);
  EXPECT_EQ((*by_name)[0].url, "https://files.example/cam1/x/0.webm");
  EXPECT_EQ((*by_name)[0].width, 640);
  EXPECT_EQ(catalog_->list_clips("aa01", "", {50, 0})->size(), 3u);  // by id too
  EXPECT_EQ(catalog_->list_clips("cam1", "2026-01-01T10:01:00Z", {50, 0})->size(), 2u);
  EXPECT_EQ(catalog_->list_clips("", "", {50, 0})->size(), 4u);
  EXPECT_EQ(catalog_->list_clips("", "", {2, 1})->size(), 2u);
  // Hostile input is just data.
  EXPECT_TRUE(catalog_->list_clips("x' OR '1'='1", "", {50, 0})->empty());
}

TEST_P(CatalogContract, ReopensWithItsData) {
  ASSERT_TRUE(catalog_->upsert_stream(stream("aa01", "cam1", "2026-01-01T10:00:00Z")).ok());
  catalog_.reset();
  auto c = reopen();
  EXPECT_TRUE(c->get_stream("aa01")->has_value());
  EXPECT_FALSE(SqliteCatalog::open("/nonexistent-dir/x.sqlite").ok());
  EXPECT_FALSE(
      PostgresCatalog::open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2").ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogContract,
                         ::testing::Values("sqlite", "postgres", "mongo"),
                         [](const auto& info) { return info.param; });

TEST(MongoMapping, DocumentsRoundTripWithApiFieldNames) {
  StreamRecord s{"aa01", "cam1", "127.0.0.1:5000", "2026-01-01T10:00:00Z", "", "live", 3, 2,
                 "H264", "opus"};
  bson_t* d = stream_document(s);
  char* json = bson_as_relaxed_extended_json(d, nullptr);
  const std::string text = json;
  bson_free(json);
  EXPECT_NE(text.find("\"_id\" : \"aa01\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"ended_at\" : null"), std::string::npos) << text;
  EXPECT_NE(text.find("\"peak_viewers\" : 3"), std::string::npos) << text;
  StreamRecord back;
  ASSERT_TRUE(stream_from_document(d, back));
  bson_destroy(d);
  EXPECT_EQ(back.name, "cam1");
  EXPECT_EQ(back.status, "live");
  EXPECT_TRUE(back.ended_at.empty());
  EXPECT_EQ(back.clip_count, 2);

  ClipRecord c;
  c.stream_id = "aa01";
  c.stream_name = "cam1";
  c.index = 4;
  c.duration = 3.5;
  c.bytes = 5'000'000'000ull;  // past 32 bits
  c.object_key = "cam1/x/4.mkv";
  c.url = "https://f/cam1/x/4.mkv";
  c.width = 1280;
  d = clip_document(c);
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, d, "_id"));
  EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "aa01/4");
  ClipRecord cb;
  ASSERT_TRUE(clip_from_document(d, cb));
  bson_destroy(d);
  EXPECT_EQ(cb.bytes, c.bytes);
  EXPECT_DOUBLE_EQ(cb.duration, 3.5);
  EXPECT_EQ(cb.index, 4);
  EXPECT_EQ(cb.width, 1280);
  EXPECT_EQ(cb.stream_name, "cam1");
}

TEST(MongoMapping, UrlFromTheSeedVariables) {
  EXPECT_EQ(mongo_url("mongodb://x/", "u", "p", "h"), "mongodb://x/");
  EXPECT_EQ(mongo_url("", "user", "p@ss:word", "db.example.com:27017"),
            "mongodb://user:p%40ss%3Aword@db.example.com:27017/");
  EXPECT_EQ(mongo_url("", "u", "p", "cluster0.ab1cd.mongodb.net"),
            "mongodb+srv://u:p@cluster0.ab1cd.mongodb.net/");
  EXPECT_EQ(mongo_url("", "", "", ""), "");
  EXPECT_FALSE(MongoCatalog::open({"not a url", "db", "s", "c"}).ok());
}

TEST(IpWhitelist, PostsTheKey) {
  lss::testing::CapturingServer server;
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/whitelist";
  ASSERT_TRUE(request_ip_whitelist(url, "wl-key").ok());
  const std::string req = server.request();
  EXPECT_EQ(req.rfind("POST /whitelist HTTP/1.1", 0), 0u) << req;
  EXPECT_NE(req.find("Authorization: Bearer wl-key"), std::string::npos);
  EXPECT_NE(req.find("{\"key\":\"wl-key\"}"), std::string::npos);
  lss::testing::CapturingServer refusing(
      "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  auto st = request_ip_whitelist("http://127.0.0.1:" + std::to_string(refusing.port()) + "/", "k");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("403"), std::string::npos);
  (void)refusing.request();
}

}  // namespace
}  // namespace lss::catalog
