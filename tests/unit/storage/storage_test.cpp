#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "catalog/sqlite_catalog.hpp"
#include "record/clip_writer.hpp"
#include "storage/local_dir_store.hpp"
#include "storage/uploader.hpp"

namespace lss::storage {
namespace {

namespace fs = std::filesystem;

// An object store that fails until told otherwise (a storage outage).
class FlakyStore : public ObjectStore {
 public:
  explicit FlakyStore(ObjectStore& inner) : inner_(inner) {}
  Status put(const std::string& key, const std::string& path) override {
    ++attempts;
    if (down) return make_error("connection refused");
    return inner_.put(key, path);
  }
  std::string url(const std::string& key) const override { return inner_.url(key); }
  std::string describe() const override { return "flaky"; }
  bool down = true;
  int attempts = 0;

 private:
  ObjectStore& inner_;
};

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("lss_storage_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "spool");
    catalog_ = std::move(catalog::SqliteCatalog::open((root_ / "catalog.sqlite").string()).value());
  }
  void TearDown() override {
    catalog_.reset();
    fs::remove_all(root_);
  }
  // A real clip in the spool with its sidecar, as the recorder leaves it.
  record::ClipInfo spool_clip(int index, bool finished = true) {
    record::ClipInfo info;
    info.stream_name = "cam1";
    info.stream_id = "abc123";
    info.index = index;
    info.object_key = "cam1/20260101T100000Z-abc123/" + std::to_string(index) + ".webm";
    info.file = (root_ / "spool" / info.object_key).string();
    info.started_at = info.ended_at = "2026-01-01T10:00:00Z";
    fs::create_directories(fs::path(info.file).parent_path());
    const std::string path = finished ? info.file : info.file + ".part";
    auto w = record::ClipWriter::open(path, {{true, "VP8", 320, 240, {}}}).value();
    for (int i = 0; i < 90; ++i) (void)w->write(0, Bytes(1500, uint8_t(i)), i * 33, i % 30 == 0);
    (void)w->finish();
    if (finished) std::ofstream(info.file + ".json") << record::to_json(info).dump();
    return info;
  }
  fs::path root_;
  std::unique_ptr<catalog::Catalog> catalog_;
};

TEST(ObjectKeys, SafeSegmentsOnly) {
  EXPECT_TRUE(valid_object_key("cam1/20260101T100000Z-abc/0.webm"));
  EXPECT_FALSE(valid_object_key("../etc/passwd"));
  EXPECT_FALSE(valid_object_key("/abs"));
  EXPECT_FALSE(valid_object_key("a//b"));
  EXPECT_FALSE(valid_object_key("a/./b"));
  EXPECT_FALSE(valid_object_key("a b"));
  EXPECT_EQ(public_url("https://link.storj.io/s/x/", "/recordings/", "a/b.webm"),
            "https://link.storj.io/s/x/a/b.webm");
  EXPECT_EQ(public_url("", "/recordings/", "a/b.webm"), "/recordings/a/b.webm");
}

TEST_F(StorageTest, StoresThenCatalogsThenAnnouncesThenDeletes) {
  LocalDirStore store((root_ / "recordings").string(), "");
  std::vector<catalog::ClipRecord> announced;
  Uploader up((root_ / "spool").string(), store, *catalog_, [&](const catalog::ClipRecord& c) {
    // By the time the app hears of a clip, it is stored and catalogued.
    EXPECT_TRUE(fs::exists(root_ / "recordings" / c.object_key));
    announced.push_back(c);
  });
  auto info = spool_clip(0);
  EXPECT_EQ(up.process_once(), 1u);
  ASSERT_EQ(announced.size(), 1u);
  EXPECT_EQ(announced[0].url, "/recordings/" + info.object_key);
  EXPECT_FALSE(fs::exists(info.file));
  EXPECT_FALSE(fs::exists(info.file + ".json"));
  EXPECT_EQ(catalog_->list_clips("cam1", "", {50, 0})->size(), 1u);
  EXPECT_EQ(up.process_once(), 0u);
}

TEST_F(StorageTest, AnOutageLosesNothing) {
  LocalDirStore local((root_ / "recordings").string(), "https://cdn.example");
  FlakyStore store(local);
  int announced = 0;
  Uploader up((root_ / "spool").string(), store, *catalog_,
              [&](const catalog::ClipRecord&) { ++announced; });
  std::vector<std::pair<catalog::ClipRecord, int>> failed;  // what upload.failed webhooks carry
  up.set_on_failed([&](const catalog::ClipRecord& c, const std::string& error, int attempt) {
    EXPECT_EQ(error, "connection refused");
    failed.emplace_back(c, attempt);
  });
  spool_clip(0);
  spool_clip(1);
  EXPECT_EQ(up.process_once(), 0u);
  EXPECT_EQ(up.pending(), 2u);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].first.index, 0);
  EXPECT_EQ(failed[1].first.index, 1);
  EXPECT_EQ(failed[0].first.stream_id, "abc123");
  EXPECT_EQ(failed[0].first.url.rfind("https://cdn.example/cam1/", 0), 0u);
  EXPECT_EQ(failed[0].second, 1);
  EXPECT_TRUE(catalog_->list_clips("cam1", "", {50, 0})
                  ->empty());  // nothing catalogued before it is stored
  store.down = false;
  // Backoff delays the retry; a later pass (here: forced by waiting it out) stores both.
  for (int i = 0; i < 40 && announced < 2; ++i) {
    up.process_once();
    if (announced < 2) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(announced, 2);
  auto clips = catalog_->list_clips("cam1", "", {50, 0});
  ASSERT_EQ(clips->size(), 2u);
  EXPECT_EQ((*clips)[0].url.rfind("https://cdn.example/cam1/", 0), 0u);
}

TEST_F(StorageTest, HalfWrittenClipsAreRecoveredOnStart) {
  LocalDirStore store((root_ / "recordings").string(), "");
  Uploader up((root_ / "spool").string(), store, *catalog_, nullptr);
  auto info = spool_clip(3, /*finished=*/false);
  const std::string part = info.file + ".part";
  fs::resize_file(part, fs::file_size(part) * 2 / 3);  // killed mid-write
  EXPECT_EQ(up.recover_partial_clips(), 1u);
  EXPECT_FALSE(fs::exists(part));
  EXPECT_EQ(up.process_once(), 1u);
  auto clips = catalog_->list_clips("cam1", "", {50, 0});
  ASSERT_EQ(clips->size(), 1u);
  EXPECT_EQ((*clips)[0].index, 3);
  EXPECT_EQ((*clips)[0].video_codec, "VP8");
  EXPECT_GT((*clips)[0].duration, 1.0);
  record::ClipInfo probed;
  ASSERT_TRUE(record::probe_clip((root_ / "recordings" / info.object_key).string(), probed).ok());
  EXPECT_GT(probed.video_frames, 30u);
}

TEST_F(StorageTest, ABrokenSidecarIsSetAside) {
  LocalDirStore store((root_ / "recordings").string(), "");
  Uploader up((root_ / "spool").string(), store, *catalog_, nullptr);
  fs::create_directories(root_ / "spool" / "x");
  std::ofstream(root_ / "spool" / "x" / "0.webm.json") << "{not json";
  EXPECT_EQ(up.process_once(), 0u);
  EXPECT_TRUE(fs::exists(root_ / "spool" / "x" / "0.webm.json.broken"));
}

}  // namespace
}  // namespace lss::storage
