#include "http/https_redirect.hpp"

#include <gtest/gtest.h>

namespace lss::http {
namespace {

TEST(HttpsRedirect, KeepsTheHostNamePathAndQueryAndPutsTheHttpsPort) {
  EXPECT_EQ(https_location("live.test:8080", 8443, "/whip/cam1?x=1&y=%20"),
            "https://live.test:8443/whip/cam1?x=1&y=%20");
  EXPECT_EQ(https_location("live.test", 443, "/"), "https://live.test/");
  EXPECT_EQ(https_location("Live.Example.com:80", 443, "/a/b"), "https://Live.Example.com/a/b");
  EXPECT_EQ(https_location(" 192.0.2.7:80 ", 8443, "/"), "https://192.0.2.7:8443/");
  EXPECT_EQ(https_location("[::1]:8080", 8443, "/x"), "https://[::1]:8443/x");
  EXPECT_EQ(https_location("[2001:db8::1]", 443, "/"), "https://[2001:db8::1]/");
  EXPECT_EQ(https_location("live.test", 8443, "*"), "https://live.test:8443/");
  EXPECT_EQ(https_location("live.test", 8443, "http://other/x"), "https://live.test:8443/");
}

TEST(HttpsRedirect, RefusesHostHeadersThatAreNotAHost) {
  for (const char* host :
       {"", ":80", "evil.test/path", "a b", "user@host", "host:abc", "host:123456", "[::1", "[]",
        "[zz::1]", "[::1]x", "host\r\nX: y", "a:1:2"}) {
    EXPECT_EQ(https_location(host, 8443, "/"), "") << host;
  }
}

Response call(const Handler& h, Verb verb, std::string target, const char* host) {
  Request req{verb, target, 11};
  if (host) req.set(bhttp::field::host, host);
  Response out;
  h(req, {}, [&](Response r) { out = std::move(r); });
  return out;
}

TEST(HttpsRedirect, Answers301ForGetAnd308ForOtherMethods) {
  const Handler h = https_redirect_handler(8443);
  auto get = call(h, Verb::get, "/?a=b", "live.test:8080");
  EXPECT_EQ(get.result(), Status::moved_permanently);
  EXPECT_EQ(get[bhttp::field::location], "https://live.test:8443/?a=b");
  auto head = call(h, Verb::head, "/index.html", "live.test:8080");
  EXPECT_EQ(head.result(), Status::moved_permanently);
  EXPECT_TRUE(head.body().empty());
  auto post = call(h, Verb::post, "/whip/cam1", "live.test:8080");
  EXPECT_EQ(post.result(), Status::permanent_redirect);
  EXPECT_EQ(post[bhttp::field::location], "https://live.test:8443/whip/cam1");
  EXPECT_EQ(call(h, Verb::get, "/", nullptr).result(), Status::bad_request);
}

}  // namespace
}  // namespace lss::http
