#include "app/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace lss {
namespace {

// Environment variables this test touches; cleared around each test.
const char* kVars[] = {"PORT",
                       "RECORD_STREAMS",
                       "CLIP_LENGTH",
                       "CLIP_SIZE",
                       "PUBLIC_IP",
                       "AWS_ACCESS_KEY_ID",
                       "STORJ_SECRET_ACCESS_ID",
                       "UDP_PORT",
                       "STREAM_KEY",
                       "HEADER_TIMEOUT",
                       "HTTP_CONNECTIONS_PER_IP",
                       "HTTP_MAX_CONNECTIONS",
                       "SOCKETIO_CONNECTIONS_PER_IP",
                       "WS_MAX_MESSAGE_BYTES",
                       "REDIS_URL",
                       "NODE_ID",
                       "NODE_URL",
                       "CLUSTER_VIEWERS",
                       "CLUSTER_MAX_PEERS",
                       "CLUSTER_MAX_CPU",
                       "HLS",
                       "HLS_PART_MS",
                       "HLS_SEGMENT_MS",
                       "SEND_PATH",
                       "XDP_DEVICE",
                       "PACING"};

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto v : kVars) unsetenv(v);
  }
  void TearDown() override { SetUp(); }
  ConfigOutcome load(std::vector<const char*> args = {}) {
    args.insert(args.begin(), "live-stream-server");
    return load_config(int(args.size()), args.data());
  }
};

TEST_F(ConfigTest, EmbeddedDefaults) {
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun);
  EXPECT_EQ(out.config.port, 8080);
  EXPECT_EQ(out.config.data_dir, "./data");
  EXPECT_TRUE(out.config.record_streams);
  EXPECT_TRUE(out.config.stream_key.empty());
}

TEST_F(ConfigTest, HlsIsOnByDefaultAndFalseTurnsItOff) {
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun);
  EXPECT_TRUE(out.config.hls);
  EXPECT_EQ(out.config.hls_part_ms, 300);
  EXPECT_EQ(out.config.hls_segment_ms, 2000);
  setenv("HLS", "false", 1);
  setenv("HLS_PART_MS", "500", 1);
  setenv("HLS_SEGMENT_MS", "4000", 1);
  out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_FALSE(out.config.hls);
  EXPECT_EQ(out.config.hls_part_ms, 500);
  EXPECT_EQ(out.config.hls_segment_ms, 4000);
  setenv("HLS", "yes please", 1);
  out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("HLS"), std::string::npos);
  setenv("HLS", "true", 1);
  setenv("HLS_PART_MS", "900", 1);
  setenv("HLS_SEGMENT_MS", "1000", 1);
  EXPECT_EQ(load().kind, ConfigOutcome::Kind::kExitError);  // under two parts a segment
}

TEST_F(ConfigTest, SeedVariablesKeepTheirMeaning) {
  setenv("PORT", "9090", 1);
  setenv("RECORD_STREAMS", "false", 1);
  setenv("CLIP_LENGTH", "0.5", 1);
  setenv("CLIP_SIZE", "2.5", 1);
  setenv("STREAM_KEY", "k", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIA", 1);
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.port, 9090);
  EXPECT_FALSE(out.config.record_streams);
  EXPECT_DOUBLE_EQ(out.config.clip_length_s, 0.5);
  EXPECT_DOUBLE_EQ(out.config.clip_size_mb, 2.5);
  EXPECT_EQ(out.config.stream_key, "k");
  EXPECT_EQ(out.config.s3_access_id, "AKIA");
}

TEST_F(ConfigTest, FlagsWinOverEnvironment) {
  setenv("PORT", "9090", 1);
  auto out = load({"--port", "7070"});
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun);
  EXPECT_EQ(out.config.port, 7070);
}

TEST_F(ConfigTest, BadValuesNameTheVariable) {
  setenv("PORT", "eighty", 1);
  auto out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.message.find("PORT"), std::string::npos) << out.message;
  unsetenv("PORT");
  setenv("RECORD_STREAMS", "maybe", 1);
  out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("RECORD_STREAMS"), std::string::npos);
  unsetenv("RECORD_STREAMS");
  setenv("CLIP_LENGTH", "-3", 1);
  out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("CLIP_LENGTH"), std::string::npos) << out.message;
  unsetenv("CLIP_LENGTH");
  setenv("PUBLIC_IP", "1.2.3.4, evil;rm", 1);
  out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("PUBLIC_IP"), std::string::npos);
}

TEST_F(ConfigTest, SendPathIsAutoByDefaultAndTakesTheOlderPaths) {
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun);
  EXPECT_EQ(out.config.send_path, "auto");
  for (const char* path : {"plain", "grouped", "auto"}) {
    setenv("SEND_PATH", path, 1);
    out = load();
    ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << path;
    EXPECT_EQ(out.config.send_path, path);
  }
  setenv("SEND_PATH", "dpdk", 1);
  out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("SEND_PATH"), std::string::npos) << out.message;
}

TEST_F(ConfigTest, SendPathTakesIoUringAndConnected) {
  for (const char* path : {"io_uring", "connected"}) {
    setenv("SEND_PATH", path, 1);
    auto out = load();
    ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << path << ": " << out.message;
    EXPECT_EQ(out.config.send_path, path);
  }
  // A wrong value's message lists every accepted one.
  setenv("SEND_PATH", "uring", 1);
  auto out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("io_uring"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("connected"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find("xdp"), std::string::npos) << out.message;
}

TEST_F(ConfigTest, SendPathXdpNeedsXdpDevice) {
  setenv("SEND_PATH", "xdp", 1);
  auto out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("XDP_DEVICE"), std::string::npos) << out.message;
  setenv("XDP_DEVICE", "v0", 1);
  out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.send_path, "xdp");
  EXPECT_EQ(out.config.xdp_device, "v0");
  unsetenv("XDP_DEVICE");
  out = load({"--xdp-device", "eth1"});
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.xdp_device, "eth1");
  out = load({"--xdp-device", "../etc/passwd"});
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("XDP_DEVICE"), std::string::npos) << out.message;
  // The device alone changes nothing: the default path stays.
  unsetenv("SEND_PATH");
  out = load({"--xdp-device", "eth1"});
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.send_path, "auto");
}

TEST_F(ConfigTest, PacingIsOnByDefault) {
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun);
  EXPECT_TRUE(out.config.pacing);
  setenv("PACING", "false", 1);
  out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun);
  EXPECT_FALSE(out.config.pacing);
  setenv("PACING", "sometimes", 1);
  out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("PACING"), std::string::npos) << out.message;
}

TEST_F(ConfigTest, ClusterSettings) {
  auto out = load();
  EXPECT_TRUE(out.config.redis_url.empty());  // one node alone
  setenv("REDIS_URL", "redis://:pw@10.0.0.5:6380/1", 1);
  setenv("NODE_ID", "edge-7.eu:8080", 1);
  setenv("NODE_URL", "https://edge7.example.com", 1);
  out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.redis_url, "redis://:pw@10.0.0.5:6380/1");
  EXPECT_EQ(out.config.node_id, "edge-7.eu:8080");
  EXPECT_EQ(out.config.node_url, "https://edge7.example.com");
  EXPECT_EQ(out.config.cluster_viewers, "relay");
  EXPECT_EQ(out.config.cluster_max_peers, 0u);
  EXPECT_DOUBLE_EQ(out.config.cluster_max_cpu, 0.9);
  setenv("CLUSTER_VIEWERS", "redirect", 1);
  setenv("CLUSTER_MAX_PEERS", "500", 1);
  setenv("CLUSTER_MAX_CPU", "0.75", 1);
  out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.cluster_viewers, "redirect");
  EXPECT_EQ(out.config.cluster_max_peers, 500u);
  EXPECT_DOUBLE_EQ(out.config.cluster_max_cpu, 0.75);
  SetUp();
  for (auto [var, value] :
       std::vector<std::pair<const char*, const char*>>{{"REDIS_URL", "http://redis"},
                                                        {"NODE_ID", "a/b"},
                                                        {"NODE_URL", "edge7:8080"},
                                                        {"CLUSTER_VIEWERS", "teleport"},
                                                        {"CLUSTER_MAX_CPU", "1.5"}}) {
    setenv(var, value, 1);
    out = load();
    EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError) << var;
    EXPECT_NE(out.message.find(var), std::string::npos) << out.message;
    SetUp();
  }
}

TEST_F(ConfigTest, FrontEndLimits) {
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun);
  EXPECT_EQ(out.config.header_timeout_s, 10);
  EXPECT_EQ(out.config.body_timeout_s, 30);
  EXPECT_EQ(out.config.http_connections_per_ip, 100u);
  EXPECT_EQ(out.config.http_max_connections, 4096u);
  EXPECT_EQ(out.config.socketio_connections_per_ip, 50u);
  EXPECT_EQ(out.config.socketio_max_pending_acks, 64u);
  EXPECT_EQ(out.config.ws_max_message_bytes, 65536u);
  setenv("HEADER_TIMEOUT", "2", 1);
  setenv("HTTP_CONNECTIONS_PER_IP", "50", 1);
  setenv("SOCKETIO_CONNECTIONS_PER_IP", "0", 1);
  setenv("WS_MAX_MESSAGE_BYTES", "1000000", 1);
  out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.header_timeout_s, 2);
  EXPECT_EQ(out.config.http_connections_per_ip, 50u);
  EXPECT_EQ(out.config.socketio_connections_per_ip, 0u);
  EXPECT_EQ(out.config.ws_max_message_bytes, 1000000u);
  setenv("HTTP_MAX_CONNECTIONS", "0", 1);  // would refuse everyone
  out = load();
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("HTTP_MAX_CONNECTIONS"), std::string::npos) << out.message;
}

TEST_F(ConfigTest, HelpListsVariables) {
  auto out = load({"--help"});
  EXPECT_EQ(out.kind, ConfigOutcome::Kind::kExitOk);
  for (auto v : {"PORT",
                 "STREAM_KEY",
                 "PEER_HOST",
                 "PEER_PORT",
                 "FILE_HOST",
                 "RECORD_STREAMS",
                 "REGION",
                 "STORJ_SECRET_ACCESS_ID",
                 "STORJ_SECRET_ACCESS_KEY",
                 "MONGO_USER",
                 "MONGO_PASSWORD",
                 "MONGO_HOST",
                 "WHITELIST_KEY",
                 "CLIP_SIZE",
                 "CLIP_LENGTH",
                 "ENVIRONMENT",
                 "UDP_PORT",
                 "PUBLIC_IP",
                 "DATA_DIR",
                 "HEADER_TIMEOUT",
                 "BODY_TIMEOUT",
                 "HTTP_CONNECTIONS_PER_IP",
                 "HTTP_MAX_CONNECTIONS",
                 "SOCKETIO_CONNECTIONS_PER_IP",
                 "SOCKETIO_MAX_PENDING_ACKS",
                 "WS_MAX_MESSAGE_BYTES"}) {
    EXPECT_NE(out.message.find(v), std::string::npos) << v;
  }
}

}  // namespace
}  // namespace lss
