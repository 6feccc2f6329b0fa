#include "webhook/disk_queue.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "webhook/event.hpp"
#include "webhook/queue_naming.hpp"

namespace lss::webhook {
namespace {

namespace fs = std::filesystem;

std::string body(int n) {
  return event_body("id" + std::to_string(n), EventType::kClipStored, "2026-01-01T00:00:00Z",
                    {{"index", n}});
}

class DiskQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("lss-webhook-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<DiskQueue> open(size_t max = 100000) {
    auto q = DiskQueue::open(dir_, max);
    EXPECT_TRUE(q.ok()) << q.error().message;
    return std::move(q.value());
  }
  // Pops everything, returning the `data.index` of each event in order.
  static std::vector<int> drain(DiskQueue& q) {
    std::vector<int> out;
    while (auto e = q.front()) {
      out.push_back(nlohmann::json::parse(e->body)["data"]["index"].get<int>());
      q.pop(e->seq);
    }
    return out;
  }

  std::string dir_;
};

TEST(WebhookQueueNaming, NamesSortInSequenceOrder) {
  EXPECT_EQ(queue_file_name(42), "00000000000000000042.json");
  EXPECT_EQ(queue_file_name(UINT64_MAX), "18446744073709551615.json");
  EXPECT_LT(queue_file_name(9), queue_file_name(10));
  EXPECT_LT(queue_file_name(99999), queue_file_name(100000));
  EXPECT_EQ(parse_queue_file_name(queue_file_name(123456789)), 123456789u);
  EXPECT_FALSE(parse_queue_file_name("00000000000000000042.json.tmp"));
  EXPECT_FALSE(parse_queue_file_name("00000000000000000042.json.corrupt"));
  EXPECT_FALSE(parse_queue_file_name("42.json"));
  EXPECT_FALSE(parse_queue_file_name("0000000000000000004x.json"));
}

TEST(WebhookQueueNaming, ReceiverDirsAreStableAndDistinct) {
  EXPECT_EQ(receiver_dir_name("http://a/hook"), receiver_dir_name("http://a/hook"));
  EXPECT_NE(receiver_dir_name("http://a/hook"), receiver_dir_name("http://b/hook"));
  EXPECT_EQ(receiver_dir_name("http://a/hook?token=secret").size(), 16u);
  EXPECT_EQ(receiver_dir_name("x").find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST_F(DiskQueueTest, DeliversInPushOrder) {
  auto q = open();
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(q->push(body(i)).ok());
  EXPECT_EQ(q->size(), 12u);
  // The bodies are stored byte for byte (the signature is over them).
  auto first = q->front();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, body(0));
  EXPECT_EQ(drain(*q), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(q->size(), 0u);
  EXPECT_TRUE(fs::is_empty(dir_));  // delivered events leave nothing behind
}

TEST_F(DiskQueueTest, ResumesFromFilesAfterRestart) {
  {
    auto q = open();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(q->push(body(i)).ok());
    auto e = q->front();
    q->pop(e->seq);  // 0 delivered before the "crash"
  }
  // A push the crash interrupted before its rename: never acknowledged.
  std::ofstream(dir_ + "/" + queue_file_name(6) + ".tmp") << "{\"id\":";
  auto q = open();
  EXPECT_EQ(q->size(), 4u);
  EXPECT_FALSE(fs::exists(dir_ + "/" + queue_file_name(6) + ".tmp"));
  // New events go after the old ones.
  ASSERT_TRUE(q->push(body(5)).ok());
  EXPECT_EQ(drain(*q), (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST_F(DiskQueueTest, OrderFollowsNumbersNotDirectoryListing) {
  fs::create_directories(dir_);
  // Written out of order, with numbers past 10 and 100 digits apart.
  for (uint64_t seq : {100u, 9u, 11u, 10u}) {
    std::ofstream(dir_ + "/" + queue_file_name(seq)) << body(int(seq));
  }
  auto q = open();
  EXPECT_EQ(drain(*q), (std::vector<int>{9, 10, 11, 100}));
  ASSERT_TRUE(q->push(body(101)).ok());
  EXPECT_TRUE(fs::exists(dir_ + "/" + queue_file_name(101)));
}

TEST_F(DiskQueueTest, SkipsCorruptFileWithALogLine) {
  {
    auto q = open();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(q->push(body(i)).ok());
  }
  const std::string damaged = dir_ + "/" + queue_file_name(2);
  std::ofstream(damaged, std::ios::trunc) << "{\"id\":\"id1\",\"ty";  // a torn write
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  auto q = open();
  const auto order = drain(*q);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(order, (std::vector<int>{0, 2}));
  EXPECT_NE(log.str().find(queue_file_name(2)), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("corrupt"), std::string::npos) << log.str();
  EXPECT_TRUE(fs::exists(damaged + ".corrupt"));  // kept for a look, never retried
  auto again = open();
  EXPECT_EQ(again->size(), 0u);
}

TEST_F(DiskQueueTest, DropsOldestAboveTheBound) {
  auto q = open(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q->push(body(i)).ok());
  EXPECT_EQ(q->size(), 3u);
  EXPECT_EQ(q->dropped(), 2u);
  EXPECT_EQ(drain(*q), (std::vector<int>{2, 3, 4}));
}

TEST_F(DiskQueueTest, PopOfADroppedEventIsHarmless) {
  auto q = open(2);
  ASSERT_TRUE(q->push(body(0)).ok());
  auto in_flight = q->front();  // the delivery thread holds event 0...
  ASSERT_TRUE(q->push(body(1)).ok());
  ASSERT_TRUE(q->push(body(2)).ok());  // ...which the bound drops meanwhile
  q->pop(in_flight->seq);
  EXPECT_EQ(drain(*q), (std::vector<int>{1, 2}));
}

}  // namespace
}  // namespace lss::webhook
