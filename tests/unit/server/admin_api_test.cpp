// The admin API's guard and routes over one real (empty) engine: who gets
// in (ADMIN_KEY as a Bearer token, or loopback when unset), and the answers
// for unknown streams and sessions. Live sessions are in the e2e test.
#include "signal/admin_api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../support/one_engine.hpp"

namespace lss::signal {
namespace {

namespace bhttp = boost::beast::http;
using http::Request;
using http::Response;
using http::Verb;

const SocketAddress kLoopback = SocketAddress::ipv4(0x7f000001, 50000);
const SocketAddress kRemote = SocketAddress::ipv4(0xC0000201, 50000);  // 192.0.2.1

struct Api {
  explicit Api(std::string key) {
    AdminApiOptions o;
    o.admin_key = std::move(key);
    o.on_ended = [this](const std::string& s, const std::string&, bool) { ended.push_back(s); };
    register_admin_api(router, engines, std::move(o));
  }
  Response call(Verb verb, std::string target, const SocketAddress& from, std::string bearer = {}) {
    Request req{verb, target, 11};
    if (!bearer.empty()) req.set(bhttp::field::authorization, "Bearer " + bearer);
    http::RequestContext ctx;
    ctx.remote = from;
    Response out;
    router.dispatch(req, ctx, [&](Response r) { out = std::move(r); });
    return out;
  }
  OneEngine engines;
  http::Router router;
  std::vector<std::string> ended;
};

TEST(AdminApi, WithoutAdminKeyLoopbackOnly) {
  Api api("");
  auto r = api.call(Verb::get, "/api/admin/sessions", kLoopback);
  EXPECT_EQ(r.result(), http::Status::ok);
  EXPECT_EQ(nlohmann::json::parse(r.body())["sessions"], nlohmann::json::array());
  r = api.call(Verb::get, "/api/admin/sessions", kRemote);
  EXPECT_EQ(r.result(), http::Status::unauthorized);
  EXPECT_NE(std::string(r[bhttp::field::www_authenticate]).find("Bearer"), std::string::npos);
  EXPECT_NE(r.body().find("loopback"), std::string::npos) << r.body();
  // A made-up key does not open it either.
  EXPECT_EQ(api.call(Verb::get, "/api/admin/sessions", kRemote, "guess").result(),
            http::Status::unauthorized);
}

TEST(AdminApi, AdminKeyRequiredFromEverywhere) {
  Api api("s3cret-admin");
  for (const auto& from : {kLoopback, kRemote}) {
    auto r = api.call(Verb::get, "/api/admin/sessions", from);
    EXPECT_EQ(r.result(), http::Status::unauthorized);
    EXPECT_NE(r.body().find("missing admin key"), std::string::npos) << r.body();
    r = api.call(Verb::get, "/api/admin/sessions", from, "s3cret-admin!");
    EXPECT_EQ(r.result(), http::Status::unauthorized);
    EXPECT_NE(r.body().find("wrong admin key"), std::string::npos) << r.body();
    EXPECT_EQ(api.call(Verb::get, "/api/admin/sessions", from, "s3cret-admin").result(),
              http::Status::ok);
  }
  // The guard comes first: unknown paths and bad names say nothing unauthorized.
  EXPECT_EQ(api.call(Verb::delete_, "/api/admin/streams/../x", kRemote).result(),
            http::Status::unauthorized);
}

TEST(AdminApi, RoutesMethodsAndUnknowns) {
  Api api("k");
  auto call = [&](Verb v, const std::string& t) { return api.call(v, t, kRemote, "k"); };
  EXPECT_EQ(call(Verb::delete_, "/api/admin/streams/cam1").result(), http::Status::not_found);
  EXPECT_EQ(call(Verb::delete_, "/api/admin/streams/..%2Fetc").result(), http::Status::bad_request);
  EXPECT_EQ(call(Verb::delete_, "/api/admin/streams/").result(), http::Status::bad_request);
  EXPECT_EQ(call(Verb::delete_, "/api/admin/sessions/00abcdef").result(), http::Status::not_found);
  EXPECT_EQ(call(Verb::delete_, "/api/admin/sessions/not-hex").result(), http::Status::not_found);
  auto r = call(Verb::post, "/api/admin/sessions");
  EXPECT_EQ(r.result(), http::Status::method_not_allowed);
  EXPECT_EQ(r[bhttp::field::allow], "GET");
  EXPECT_EQ(call(Verb::get, "/api/admin/streams/cam1").result(), http::Status::method_not_allowed);
  EXPECT_EQ(call(Verb::get, "/api/admin/sessions?role=admin").result(), http::Status::bad_request);
  EXPECT_EQ(call(Verb::get, "/api/admin/nothing").result(), http::Status::not_found);
  // The router sends the bare prefix here too (found by fuzz_http: it threw).
  EXPECT_EQ(call(Verb::get, "/api/admin").result(), http::Status::not_found);
  EXPECT_EQ(call(Verb::delete_, "/api/admin?x=1").result(), http::Status::not_found);
  EXPECT_TRUE(api.ended.empty());
}

}  // namespace
}  // namespace lss::signal
