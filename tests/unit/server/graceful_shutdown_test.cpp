// The drain that SIGTERM starts: which requests get 503, the order of the
// steps, the wait for the spool, and the grace limit.
#include "app/graceful_shutdown.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <string>
#include <vector>

#include "http/router.hpp"

namespace lss {
namespace {

http::Request request(http::Verb verb, const std::string& target) {
  http::Request req{verb, target, 11};
  return req;
}

TEST(GracefulShutdown, RefusesOnlyNewSessionsWhileDraining) {
  boost::asio::io_context io;
  GracefulShutdown g(io, std::chrono::seconds(5));
  g.start({});
  const auto post_whep = request(http::Verb::post, "/whep/live");
  EXPECT_FALSE(g.gate(post_whep, "/whep/"));
  g.drain();
  auto refused = g.gate(post_whep, "/whep/");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->result(), http::Status::service_unavailable);
  EXPECT_EQ(refused->at(http::bhttp::field::retry_after),
            std::to_string(GracefulShutdown::kRetryAfterSeconds));
  EXPECT_TRUE(g.gate(request(http::Verb::post, "/whip/live"), "/whip/"));
  // Ending a session, trickle, the API and the page still work.
  EXPECT_FALSE(g.gate(request(http::Verb::delete_, "/whep/live/abc"), "/whep/"));
  EXPECT_FALSE(g.gate(request(http::Verb::patch, "/whip/live/abc"), "/whip/"));
  EXPECT_FALSE(g.gate(request(http::Verb::get, "/api/streams"), "/api/streams/"));
  EXPECT_FALSE(g.gate(request(http::Verb::post, "/socket.io/?EIO=4"), "/socket.io/"));
}

TEST(GracefulShutdown, EndsSessionsThenFinishesClipsThenWaitsForTheSpool) {
  boost::asio::io_context io;
  GracefulShutdown g(io, std::chrono::seconds(10));
  std::vector<std::string> order;
  size_t spooled = 2;
  GracefulShutdown::Steps steps;
  steps.end_sessions = [&](std::function<void()> done) {
    order.push_back("end");
    boost::asio::post(io, done);  // the workers answer later
  };
  steps.finish_recordings = [&] { order.push_back("finish"); };
  steps.pending_uploads = [&] {
    // One clip stored per look.
    order.push_back("look " + std::to_string(spooled));
    return spooled ? spooled-- : 0;
  };
  steps.stop = [&] {
    order.push_back("stop");
    io.stop();
  };
  g.start(std::move(steps));
  g.drain();
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(order,
            (std::vector<std::string>{"end", "finish", "look 2", "look 1", "look 0", "stop"}));
  EXPECT_FALSE(g.hurried());
}

TEST(GracefulShutdown, StopsWhenTheGraceRunsOutWithClipsLeft) {
  boost::asio::io_context io;
  GracefulShutdown g(io, std::chrono::milliseconds(300));
  bool stopped = false;
  GracefulShutdown::Steps steps;
  steps.pending_uploads = [] { return size_t(1); };  // storage down
  steps.stop = [&] {
    stopped = true;
    io.stop();
  };
  g.start(std::move(steps));
  const auto t0 = Clock::now();
  g.drain();
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(stopped);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(300));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(3));
}

TEST(Router, AGateAnswersInsteadOfTheHandler) {
  http::Router router;
  int handled = 0;
  router.add("/whip/",
             [&](const http::Request& req, const http::RequestContext&, http::Responder respond) {
               ++handled;
               respond(http::make_response(req, http::Status::created));
             });
  std::string seen_route;
  router.set_gate([&](const http::Request& req, std::string_view route) {
    seen_route = std::string(route);
    std::optional<http::Response> out;
    if (req.method() == http::Verb::post)
      out = http::make_response(req, http::Status::service_unavailable);
    return out;
  });
  http::Status got{};
  router.dispatch(request(http::Verb::post, "/whip/x"), {},
                  [&](http::Response res) { got = res.result(); });
  EXPECT_EQ(got, http::Status::service_unavailable);
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(seen_route, "/whip/");
  router.dispatch(request(http::Verb::get, "/whip/x"), {},
                  [&](http::Response res) { got = res.result(); });
  EXPECT_EQ(got, http::Status::created);
  EXPECT_EQ(handled, 1);
}

}  // namespace
}  // namespace lss
