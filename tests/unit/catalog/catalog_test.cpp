// The catalog contract, run against every backend available here (SQLite;
// PostgreSQL and MongoDB to join the same suite).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

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
  std::unique_ptr<Catalog> reopen() {
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

INSTANTIATE_TEST_SUITE_P(Backends, CatalogContract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lss::catalog
