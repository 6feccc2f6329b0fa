// Socket.IO's bounds on one client: Engine.IO sessions per address (IPv6
// per /64, loopback exempt), events awaiting their ack per session, the
// packet size, and bytes queued for a session that does not read. Driven through the router over
// long-polling, as a client's HTTP requests would be.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "http/router.hpp"
#include "signal/socketio_server.hpp"

namespace lss::signal {
namespace {

using http::Request;
using http::Response;
using http::Verb;

class SocketIoLimitsTest : public ::testing::Test {
 protected:
  void start(SocketIoServer::Options options) {
    server_ = std::make_unique<SocketIoServer>(io_, std::move(options));
    server_->register_routes(router_);
    server_->on("hold", [this](const std::string&, const nlohmann::json&, SocketIoServer::Ack ack) {
      held_.push_back(std::move(ack));
    });
  }
  Response call(Verb verb, const std::string& target, const std::string& body,
                const SocketAddress& from) {
    Request req{verb, target, 11};
    req.body() = body;
    req.prepare_payload();
    http::RequestContext ctx;
    ctx.remote = from;
    std::optional<Response> out;
    router_.dispatch(req, ctx, [&](Response res) { out = std::move(res); });
    EXPECT_TRUE(out) << target;
    return out ? *out : Response{};
  }
  // An Engine.IO handshake over polling: the session id, or empty when refused.
  std::string open(const char* ip, int* status = nullptr) {
    auto res = call(Verb::get, "/socket.io/?EIO=4&transport=polling", "", addr(ip));
    if (status) *status = res.result_int();
    if (res.result() != http::Status::ok) return {};
    return nlohmann::json::parse(res.body().substr(1))["sid"];
  }
  Response post(const std::string& sid, const std::string& packets, const char* ip = "127.0.0.1") {
    return call(Verb::post, "/socket.io/?EIO=4&transport=polling&sid=" + sid, packets, addr(ip));
  }
  static SocketAddress addr(const char* ip) { return *SocketAddress::parse(ip, 50000); }

  boost::asio::io_context io_;
  http::Router router_;
  std::unique_ptr<SocketIoServer> server_;
  std::vector<SocketIoServer::Ack> held_;
};

TEST_F(SocketIoLimitsTest, SessionsPerAddressAreCappedLoopbackIsNot) {
  SocketIoServer::Options o;
  o.connections_per_address = 2;
  start(o);
  const std::string first = open("192.0.2.1");
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(open("192.0.2.1").empty());
  int status = 0;
  EXPECT_TRUE(open("192.0.2.1", &status).empty());
  EXPECT_EQ(status, 429);
  EXPECT_FALSE(open("192.0.2.2").empty());  // another client
  // One /64, one client.
  EXPECT_FALSE(open("2001:db8::1").empty());
  EXPECT_FALSE(open("2001:db8::2").empty());
  EXPECT_TRUE(open("2001:db8::3").empty());
  EXPECT_FALSE(open("2001:db8:0:1::1").empty());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(open("127.0.0.1").empty());
  // A session that ends gives its place back.
  EXPECT_EQ(post(first, "1", "192.0.2.1").result(), http::Status::ok);
  EXPECT_FALSE(open("192.0.2.1").empty());
}

TEST_F(SocketIoLimitsTest, PastTheOwedAcksTheSessionIsClosed) {
  SocketIoServer::Options o;
  o.max_pending_acks = 3;
  start(o);
  const std::string sid = open("127.0.0.1");
  ASSERT_FALSE(sid.empty());
  ASSERT_EQ(post(sid, "40").result(), http::Status::ok);  // loopback: no key needed
  for (int id = 1; id <= 3; ++id)
    ASSERT_EQ(post(sid, "42" + std::to_string(id) + "[\"hold\"]").result(), http::Status::ok);
  EXPECT_EQ(held_.size(), 3u);
  // Answered (or dropped) acks free their places.
  held_[0](nlohmann::json{{"ok", true}});
  held_.erase(held_.begin());
  ASSERT_EQ(post(sid, "424[\"hold\"]").result(), http::Status::ok);
  EXPECT_EQ(server_->sessions(), 1u);
  // Events without an ack are not counted.
  ASSERT_EQ(post(sid, "42[\"hold\"]").result(), http::Status::ok);
  EXPECT_EQ(server_->sessions(), 1u);
  // One more owed ack than allowed ends the session.
  post(sid, "425[\"hold\"]");
  EXPECT_EQ(server_->sessions(), 0u);
  // Acks answered after the session is gone go nowhere.
  for (auto& ack : held_)
    if (ack) ack(nlohmann::json{{"ok", true}});
}

TEST_F(SocketIoLimitsTest, APacketOverTheLimitEndsTheSession) {
  SocketIoServer::Options o;
  o.max_payload = 1024;
  start(o);
  const std::string sid = open("127.0.0.1");
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(post(sid, "42[\"x\",\"" + std::string(2000, 'a') + "\"]").result(),
            http::Status::payload_too_large);
  EXPECT_EQ(server_->sessions(), 0u);
}

// A polling client that stops fetching while events keep coming: past
// max_queued_bytes its session is closed; one that fetches is not.
TEST_F(SocketIoLimitsTest, ASessionThatDoesNotReadIsClosedPastItsQueueBound) {
  SocketIoServer::Options o;
  o.max_queued_bytes = 4096;
  o.stream_key = "k";
  start(o);
  const std::string idle = open("192.0.2.1");
  const std::string reader = open("192.0.2.2");
  ASSERT_EQ(post(idle, R"(40{"key":"k"})", "192.0.2.1").result(), http::Status::ok);
  ASSERT_EQ(post(reader, R"(40{"key":"k"})", "192.0.2.2").result(), http::Status::ok);
  auto poll = [&](const std::string& sid, const char* ip) {
    return call(Verb::get, "/socket.io/?EIO=4&transport=polling&sid=" + sid, "", addr(ip));
  };
  // The CONNECT answers.
  ASSERT_EQ(poll(idle, "192.0.2.1").body().substr(0, 3), "40{");
  ASSERT_EQ(poll(reader, "192.0.2.2").body().substr(0, 3), "40{");
  const nlohmann::json clip = {{"streamId", "cam"}, {"pad", std::string(200, 'x')}};
  for (int i = 0; i < 40; ++i) {
    server_->broadcast("clip", clip);
    if (i % 5 == 4) {
      auto got = poll(reader, "192.0.2.2");
      ASSERT_EQ(got.result(), http::Status::ok);
      EXPECT_NE(got.body().find("clip"), std::string::npos);
    }
  }
  io_.run_for(std::chrono::milliseconds(50));  // the close is posted
  EXPECT_EQ(server_->sessions(), 1u);
  EXPECT_EQ(poll(idle, "192.0.2.1").result(), http::Status::bad_request);  // unknown sid
}

}  // namespace
}  // namespace lss::signal
