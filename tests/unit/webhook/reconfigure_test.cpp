// SIGHUP's webhook changes: receivers come and go by URL, and what was
// queued for a receiver stays on disk while it is gone and is there again
// when it comes back (here never started, so nothing is delivered).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "webhook/queue_naming.hpp"
#include "webhook/webhooks.hpp"

namespace lss::webhook {
namespace {

class WebhooksReconfigure : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("lss-hooks-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::unique_ptr<Webhooks> open(std::vector<std::string> urls) {
    WebhookOptions o;
    o.urls = std::move(urls);
    o.secret = "s1";
    o.queue_root = root_.string();
    auto h = Webhooks::open(o);
    EXPECT_TRUE(h.ok());
    return std::move(h.value());
  }

  std::filesystem::path root_;
};

const std::string kA = "http://127.0.0.1:9/a", kB = "http://127.0.0.1:9/b";

TEST_F(WebhooksReconfigure, ReceiversFollowTheUrlsAndKeepTheirQueues) {
  auto hooks = open({});
  EXPECT_FALSE(hooks->has_receivers());
  hooks->publish(EventType::kStreamStarted, {{"id", "x"}});  // nobody to tell
  EXPECT_EQ(hooks->queued(), 0u);

  ASSERT_TRUE(hooks->reconfigure({kA}, "s1", true));
  EXPECT_TRUE(hooks->has_receivers());
  hooks->publish(EventType::kStreamStarted, {{"id", "1"}});
  EXPECT_EQ(hooks->queued(), 1u);
  ASSERT_TRUE(hooks->reconfigure({kA, kB}, "s1", true));
  hooks->publish(EventType::kStreamEnded, {{"id", "1"}});
  EXPECT_EQ(hooks->queued(), 3u);  // A: 2, B: 1

  ASSERT_TRUE(hooks->reconfigure({kB}, "s1", true));
  EXPECT_EQ(hooks->queued(), 1u);                         // A's two wait on disk
  ASSERT_TRUE(hooks->reconfigure({kA, kB}, "s2", true));  // A back, a new secret
  EXPECT_EQ(hooks->queued(), 3u);

  // Viewer events off: not queued; on again: queued.
  ASSERT_TRUE(hooks->reconfigure({kA, kB}, "s2", false));
  EXPECT_FALSE(hooks->wants(EventType::kViewerJoined));
  hooks->publish(EventType::kViewerJoined, {{"session_id", "v"}});
  EXPECT_EQ(hooks->queued(), 3u);
  ASSERT_TRUE(hooks->reconfigure({kA, kB}, "s2", true));
  hooks->publish(EventType::kViewerJoined, {{"session_id", "v"}});
  EXPECT_EQ(hooks->queued(), 5u);

  ASSERT_TRUE(hooks->reconfigure({}, "", true));
  EXPECT_FALSE(hooks->has_receivers());
  EXPECT_EQ(hooks->queued(), 0u);
}

TEST_F(WebhooksReconfigure, AQueueThatCannotOpenChangesNothing) {
  auto hooks = open({kA});
  hooks->publish(EventType::kStreamStarted, {{"id", "1"}});
  // A file where the new receiver's queue directory would go.
  const std::string kD = "http://127.0.0.1:9/d";
  { std::ofstream(root_ / receiver_dir_name(kD)) << "in the way"; }
  EXPECT_FALSE(hooks->reconfigure({kA, kD}, "s1", true));
  EXPECT_EQ(hooks->queued(), 1u);  // A still there, with its event
  hooks->publish(EventType::kStreamEnded, {{"id", "1"}});
  EXPECT_EQ(hooks->queued(), 2u);
}

}  // namespace
}  // namespace lss::webhook
