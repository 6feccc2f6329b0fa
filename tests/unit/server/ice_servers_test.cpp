// ICE servers for clients: URI validation, coturn REST credentials, Link
// header values, and the ICE_SERVERS / TURN_* configuration.
#include "signal/ice_servers.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "app/config.hpp"

namespace lss {
namespace {

using signal::IceServerOptions;
using signal::validate_ice_server_url;

TEST(IceServerUrl, AcceptsRfc7064And7065Uris) {
  for (const char* url :
       {"stun:stun.example.net", "stun:stun.example.net:3478", "stuns:stun.example.net:5349",
        "turn:127.0.0.1:3478", "turn:turn.example.net?transport=udp",
        "turn:turn.example.net:3478?transport=tcp", "turns:turn.example.net:443?transport=tcp",
        "TURN:Turn.Example.NET", "turn:[::1]:3478", "turn:[2001:db8::1]", "stun:a_b-c.d"}) {
    EXPECT_TRUE(validate_ice_server_url(url))
        << url << ": " << validate_ice_server_url(url).message();
  }
}

TEST(IceServerUrl, RefusesWhatClientsCannotUse) {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& c : {
           Case{"http://turn.example.net", "expected a stun:"},
           Case{"turn.example.net:3478", "expected a stun:"},
           Case{"turn://turn.example.net:3478", "no '//'"},
           Case{"turn:", "no host"},
           Case{"turn::3478", "no host"},
           Case{"turn:host:", "empty port"},
           Case{"turn:host:0", "bad port"},
           Case{"turn:host:65536", "bad port"},
           Case{"turn:host:34x", "bad port"},
           Case{"turn:ho st", "bad character"},
           Case{"turn:host>; rel=x", "bad character"},
           Case{"turn:host\"", "bad character"},
           Case{"turn:[::1", "unclosed"},
           Case{"turn:[::g]", "bad IPv6"},
           Case{"turn:[::1]x", "expected :port"},
           Case{"turn:host?transport=sctp", "?transport=udp"},
           Case{"turn:host?", "?transport=udp"},
           Case{"stun:host?transport=udp", "stun: URIs take no"},
       }) {
    auto st = validate_ice_server_url(c.url);
    ASSERT_FALSE(st) << c.url;
    EXPECT_NE(st.message().find(c.why), std::string::npos) << c.url << ": " << st.message();
  }
}

TEST(IceServers, ConfigurationRulesNameTheVariable) {
  IceServerOptions o;
  EXPECT_TRUE(signal::validate_ice_servers(o));  // nothing announced: fine
  o.urls = {"stun:stun.example.net"};
  EXPECT_TRUE(signal::validate_ice_servers(o));
  o.urls.push_back("turn:turn.example.net");
  auto need = [&](const char* what) {
    auto st = signal::validate_ice_servers(o);
    EXPECT_FALSE(st);
    EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
  };
  need("invalid ICE_SERVERS: turn: and turns: servers need TURN_USERNAME");
  o.username = "u";
  need("invalid TURN_PASSWORD: required with TURN_USERNAME");
  o.password = "p";
  EXPECT_TRUE(signal::validate_ice_servers(o));
  o.secret = "s";
  need("invalid TURN_SECRET: set either");
  o.username.clear();
  o.password.clear();
  EXPECT_TRUE(signal::validate_ice_servers(o));
  o.ttl = std::chrono::seconds(60);
  need("invalid TURN_TTL");
  o.ttl = std::chrono::hours(1);
  o.urls = {"stun:stun.example.net"};
  need("invalid TURN_SECRET: ICE_SERVERS lists no turn:");
  o.urls = {"turn:x", "bogus:x"};
  need("invalid ICE_SERVERS: 'bogus:x'");
  o = {};
  o.urls = {"turn:x"};
  o.username = "line\nbreak";
  o.password = "p";
  need("control characters");
}

TEST(TurnRestCredential, IsCoturnsHmacSha1OfTheTimedUsername) {
  // Checked against Python's hmac/base64 (an independent implementation):
  // base64(hmac.new(b'S3cr3t', b'1700003600:00abcdef0123456789abcd', sha1).digest()).
  auto c = signal::turn_rest_credential("S3cr3t", "00abcdef0123456789abcd", 1700003600);
  EXPECT_EQ(c.username, "1700003600:00abcdef0123456789abcd");
  EXPECT_EQ(c.credential, "g3tJpj6gceGeo5VdwKeS1EGcsRg=");
  EXPECT_EQ(signal::turn_rest_credential("S3cr3t", "", 1700003600).username, "1700003600");
}

TEST(IceServerLinks, FormatsRfc9725LinkValues) {
  EXPECT_EQ(signal::ice_server_link("stun:stun.example.net"),
            "<stun:stun.example.net>; rel=\"ice-server\"");
  signal::TurnCredential c{"u\"ser", "pa\\ss"};
  EXPECT_EQ(signal::ice_server_link("turn:t.example.net?transport=udp", &c),
            "<turn:t.example.net?transport=udp>; rel=\"ice-server\"; username=\"u\\\"ser\"; "
            "credential=\"pa\\\\ss\"; credential-type=\"password\"");
}

TEST(IceServerLinks, StaticOrPerSessionCredentialsInConfiguredOrder) {
  IceServerOptions o;
  o.urls = {"stun:s.example.net", "turn:t.example.net", "turns:t.example.net:443?transport=tcp"};
  o.username = "user";
  o.password = "pass";
  auto links = signal::ice_server_links(o, "00session", 1000);
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[0], "<stun:s.example.net>; rel=\"ice-server\"");
  EXPECT_EQ(links[1],
            "<turn:t.example.net>; rel=\"ice-server\"; username=\"user\"; credential=\"pass\"; "
            "credential-type=\"password\"");
  EXPECT_NE(links[2].find("<turns:t.example.net:443?transport=tcp>"), std::string::npos);

  o.username.clear();
  o.password.clear();
  o.secret = "S3cr3t";
  o.ttl = std::chrono::hours(1);
  links = signal::ice_server_links(o, "00abcdef0123456789abcd", 1700000000);
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(
      links[1],
      "<turn:t.example.net>; rel=\"ice-server\"; username=\"1700003600:00abcdef0123456789abcd\"; "
      "credential=\"g3tJpj6gceGeo5VdwKeS1EGcsRg=\"; credential-type=\"password\"");
  EXPECT_TRUE(signal::ice_server_links({}, "x", 1).empty());
}

class IceConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto v : kVars) unsetenv(v);
  }
  void TearDown() override { SetUp(); }
  ConfigOutcome load(std::vector<const char*> args = {}) {
    args.insert(args.begin(), "live-stream-server");
    return load_config(int(args.size()), args.data());
  }
  static constexpr const char* kVars[] = {"ICE_SERVERS", "TURN_USERNAME", "TURN_PASSWORD",
                                          "TURN_SECRET", "TURN_TTL"};
};

TEST_F(IceConfigTest, FromTheEnvironmentAndFlags) {
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_TRUE(out.config.ice_servers.empty());
  setenv("ICE_SERVERS", "stun:s.example.net, turn:127.0.0.1:3478", 1);
  setenv("TURN_SECRET", "S", 1);
  out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.ice_servers,
            (std::vector<std::string>{"stun:s.example.net", "turn:127.0.0.1:3478"}));
  auto o = ice_server_options(out.config);
  EXPECT_EQ(o.secret, "S");
  EXPECT_EQ(o.ttl, std::chrono::hours(24));
  out = load({"--turn-ttl", "7200"});
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(ice_server_options(out.config).ttl, std::chrono::hours(2));
}

TEST_F(IceConfigTest, BadValuesStopStartUpNamingTheVariable) {
  setenv("ICE_SERVERS", "turn://127.0.0.1:3478", 1);
  setenv("TURN_SECRET", "S", 1);
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.message.find("invalid ICE_SERVERS: 'turn://127.0.0.1:3478'"), std::string::npos)
      << out.message;
  setenv("ICE_SERVERS", "turn:127.0.0.1:3478", 1);
  unsetenv("TURN_SECRET");
  out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("TURN_USERNAME and TURN_PASSWORD, or TURN_SECRET"), std::string::npos);
  setenv("TURN_SECRET", "S", 1);
  setenv("TURN_TTL", "10", 1);
  out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kExitError);
  EXPECT_NE(out.message.find("TURN_TTL"), std::string::npos) << out.message;
}

TEST_F(IceConfigTest, HelpListsTheSettings) {
  auto out = load({"--help"});
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kExitOk);
  for (const char* v : kVars) EXPECT_NE(out.message.find(v), std::string::npos) << v;
}

}  // namespace
}  // namespace lss
