// CONFIG_FILE: the env-file syntax, and what SIGHUP may change from it.
#include <gtest/gtest.h>

#include "app/config_reload.hpp"
#include "app/env_file.hpp"

namespace lss {
namespace {

TEST(EnvFile, ParsesTheUsualShapes) {
  auto e = parse_env_file(
      "# comment\n"
      "\n"
      "PORT=8080\n"
      "export STREAM_KEY = s3cret \n"
      "WEBHOOK_URLS=\"http://a/x, http://b/y\"  # trailing comment\n"
      "MSG='$not expanded'\n"
      "QUOTED=\"a \\\"b\\\" \\\\ c\\n\"\r\n"
      "EMPTY=\n"
      "PORT=9090\n");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->size(), 7u);
  EXPECT_EQ(*find_entry(*e, "PORT"), "9090");  // the last one counts
  EXPECT_EQ(*find_entry(*e, "STREAM_KEY"), "s3cret");
  EXPECT_EQ(*find_entry(*e, "MSG"), "$not expanded");
  EXPECT_EQ(*find_entry(*e, "WEBHOOK_URLS"), "http://a/x, http://b/y");
  EXPECT_EQ(*find_entry(*e, "QUOTED"), "a \"b\" \\ c\n");
  EXPECT_EQ(*find_entry(*e, "EMPTY"), "");
  EXPECT_EQ(find_entry(*e, "NOPE"), nullptr);
}

TEST(EnvFile, NamesTheBadLine) {
  auto e = parse_env_file("A=1\nnot a setting\n");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("line 2"), std::string::npos) << e.error().message;
  EXPECT_FALSE(parse_env_file("1A=x\n").ok());
  EXPECT_FALSE(parse_env_file("A=\"open\n").ok());
  EXPECT_FALSE(parse_env_file("A='x' y\n").ok());
  EXPECT_FALSE(parse_env_file(std::string(2 << 20, '#')).ok());
  EXPECT_FALSE(read_env_file("/nonexistent/lss.env").ok());
}

TEST(ConfigReload, TakesTheFilesValuesAndChecksThem) {
  ReloadableSettings now{"info", {"http://a/x"}, "k", true};
  auto e = parse_env_file("LOG_LEVEL=debug\nWEBHOOK_URLS=http://b/y,https://c/z\n").value();
  auto next = reload_settings(e, now);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->log_level, "debug");
  EXPECT_EQ(next->webhook_urls, (std::vector<std::string>{"http://b/y", "https://c/z"}));
  EXPECT_EQ(next->webhook_secret, "k");  // not in the file: unchanged
  EXPECT_TRUE(next->webhook_viewer_events);

  EXPECT_FALSE(reload_settings(parse_env_file("LOG_LEVEL=loud\n").value(), now).ok());
  EXPECT_FALSE(reload_settings(parse_env_file("WEBHOOK_URLS=ftp://x\n").value(), now).ok());
  EXPECT_FALSE(reload_settings(parse_env_file("WEBHOOK_SECRET=\n").value(), now).ok());
  EXPECT_FALSE(reload_settings(parse_env_file("WEBHOOK_VIEWER_EVENTS=maybe\n").value(), now).ok());
  auto off = reload_settings(parse_env_file("WEBHOOK_URLS=\nWEBHOOK_SECRET=\n").value(), now);
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->webhook_urls.empty());
}

TEST(ConfigReload, SaysWhatWaitsForARestart) {
  auto e = parse_env_file("PORT=9090\nLOG_LEVEL=debug\nSTREAM_KEY=same\nUDP_PORT=1\nUDP_PORT=2\n")
               .value();
  auto in_force = [](const char* k) -> const char* {
    const std::string key = k;
    if (key == "PORT") return "8080";
    if (key == "STREAM_KEY") return "same";
    if (key == "UDP_PORT") return "2";
    return nullptr;
  };
  EXPECT_EQ(restart_only_changes(e, in_force), (std::vector<std::string>{"PORT"}));
}

}  // namespace
}  // namespace lss
