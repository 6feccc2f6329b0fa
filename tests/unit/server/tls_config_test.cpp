// TLS_CERT, TLS_KEY, HTTP_REDIRECT_PORT and ACME_WEBROOT in the
// configuration: checked at start-up, errors naming the variable.
#include <gtest/gtest.h>

#include "app/config.hpp"
#include "test_certs.hpp"

namespace lss {
namespace {

const char* kVars[] = {"PORT", "TLS_CERT", "TLS_KEY", "HTTP_REDIRECT_PORT", "ACME_WEBROOT"};

class TlsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto v : kVars) unsetenv(v);
    const auto cert = test::make_cert("live.test", 9, nullptr, false, "DNS:live.test");
    test::write_file(dir / "cert.pem", cert.pem());
    test::write_file(dir / "key.pem", cert.key.pem());
    test::write_file(dir / "other.pem", test::make_key().pem());
  }
  void TearDown() override {
    for (auto v : kVars) unsetenv(v);
  }
  ConfigOutcome load(std::vector<const char*> args = {}) {
    args.insert(args.begin(), "live-stream-server");
    return load_config(int(args.size()), args.data());
  }
  test::TempDir dir;
};

TEST_F(TlsConfigTest, OffByDefault) {
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_TRUE(out.config.tls_cert.empty());
  EXPECT_EQ(out.config.http_redirect_port, 0);
}

TEST_F(TlsConfigTest, VariablesAndFlags) {
  const std::string cert = dir / "cert.pem", key = dir / "key.pem";
  setenv("TLS_CERT", cert.c_str(), 1);
  setenv("TLS_KEY", key.c_str(), 1);
  setenv("HTTP_REDIRECT_PORT", "8080", 1);
  setenv("PORT", "8443", 1);
  setenv("ACME_WEBROOT", "/var/www/acme", 1);
  auto out = load();
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.tls_cert, cert);
  EXPECT_EQ(out.config.tls_key, key);
  EXPECT_EQ(out.config.http_redirect_port, 8080);
  EXPECT_EQ(out.config.acme_webroot, "/var/www/acme");
  for (auto v : kVars) unsetenv(v);
  out = load({"--tls-cert", cert.c_str(), "--tls-key", key.c_str(), "--http-redirect-port", "81"});
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kRun) << out.message;
  EXPECT_EQ(out.config.tls_cert, cert);
  EXPECT_EQ(out.config.http_redirect_port, 81);
}

TEST_F(TlsConfigTest, HelpListsThem) {
  auto out = load({"--help"});
  ASSERT_EQ(out.kind, ConfigOutcome::Kind::kExitOk);
  for (const char* v : {"TLS_CERT", "TLS_KEY", "HTTP_REDIRECT_PORT", "ACME_WEBROOT"})
    EXPECT_NE(out.message.find(v), std::string::npos) << v;
}

TEST_F(TlsConfigTest, BadSettingsStopStartUpNamingTheVariable) {
  const std::string cert = dir / "cert.pem", key = dir / "key.pem", other = dir / "other.pem",
                    missing = dir / "missing.pem";
  struct Case {
    std::vector<std::pair<const char*, std::string>> env;
    const char* says;
  } cases[] = {
      {{{"TLS_CERT", cert}}, "invalid TLS_KEY: required when TLS_CERT is set"},
      {{{"TLS_KEY", key}}, "invalid TLS_CERT: required when TLS_KEY is set"},
      {{{"TLS_CERT", missing}, {"TLS_KEY", key}}, "invalid TLS_CERT: cannot read"},
      {{{"TLS_CERT", cert}, {"TLS_KEY", missing}}, "invalid TLS_KEY: cannot read"},
      {{{"TLS_CERT", key}, {"TLS_KEY", key}}, "invalid TLS_CERT: no PEM certificate"},
      {{{"TLS_CERT", cert}, {"TLS_KEY", other}}, "invalid TLS_KEY: the private key in"},
      {{{"HTTP_REDIRECT_PORT", "80"}}, "invalid HTTP_REDIRECT_PORT: it redirects to HTTPS"},
      {{{"TLS_CERT", cert}, {"TLS_KEY", key}, {"HTTP_REDIRECT_PORT", "8080"}},
       "invalid HTTP_REDIRECT_PORT: it must differ from PORT"},
      {{{"HTTP_REDIRECT_PORT", "70000"}}, "HTTP_REDIRECT_PORT"},
  };
  for (const auto& c : cases) {
    for (auto v : kVars) unsetenv(v);
    for (const auto& [name, value] : c.env) setenv(name, value.c_str(), 1);
    auto out = load();
    ASSERT_EQ(out.kind, ConfigOutcome::Kind::kExitError) << c.says;
    EXPECT_EQ(out.exit_code, 2);
    EXPECT_NE(out.message.find(c.says), std::string::npos) << out.message;
  }
}

}  // namespace
}  // namespace lss
