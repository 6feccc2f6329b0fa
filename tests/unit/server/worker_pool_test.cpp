#include "app/worker_pool.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <future>
#include <mutex>
#include <set>
#include <thread>

namespace lss {
namespace {

// Runs `job` through `route` and returns the engine it ran on.
template <class Route>
sfu::Engine* engine_for(boost::asio::io_context& control, Route route) {
  sfu::Engine* ran_on = nullptr;
  std::promise<void> done;
  route([&](sfu::Engine& e) {
    ran_on = &e;
    done.set_value();
  });
  done.get_future().wait();
  control.poll();  // placement updates posted by the engines
  return ran_on;
}

TEST(WorkerPool, SpreadsNewStreamsAndKeepsEachOnItsWorker) {
  boost::asio::io_context control;
  auto cert = DtlsCertificate::generate().value();
  WorkerPool pool(control);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(pool.add_worker(0, cert, {}, {"127.0.0.1"}));
  pool.start();
  EXPECT_NE(pool.worker(0).port(), pool.worker(1).port());

  // Two new streams in a row land on different workers (the first is
  // reserved before either has a peer).
  sfu::Engine* a =
      engine_for(control, [&](auto job) { pool.run_for_new_stream("a", std::move(job)); });
  sfu::Engine* b =
      engine_for(control, [&](auto job) { pool.run_for_new_stream("b", std::move(job)); });
  EXPECT_NE(a, b);
  // Later requests for a stream go where it was placed.
  EXPECT_EQ(engine_for(control, [&](auto job) { pool.run_for_stream("b", std::move(job)); }), b);
  EXPECT_EQ(engine_for(control, [&](auto job) { pool.run_for_new_stream("a", std::move(job)); }),
            a);
  // Unknown names are routed somewhere and leave no reservation behind.
  EXPECT_NE(engine_for(control, [&](auto job) { pool.run_for_stream("zzz", std::move(job)); }),
            nullptr);

  // A session goes to the worker its id names (its first two hex digits);
  // an id that names none goes to its stream's worker.
  auto session = [&](const std::string& id) {
    return engine_for(control, [&](auto job) { pool.run_for_session("a", id, std::move(job)); });
  };
  EXPECT_EQ((std::set<sfu::Engine*>{session("00a1"), session("01a1")}),
            (std::set<sfu::Engine*>{a, b}));
  EXPECT_NE(session("00a1"), session("01a1"));
  EXPECT_EQ(session("zz"), a);
  EXPECT_EQ(session("07a1"), a);  // no worker 7
  // A viewer of a stream that is not live is answered by its worker.
  EXPECT_EQ(engine_for(control, [&](auto job) { pool.run_for_viewer("a", std::move(job)); }), a);

  // run_on_all visits each engine once, then finishes on the control thread.
  std::mutex mu;
  std::set<sfu::Engine*> seen;
  bool finished = false;
  pool.run_on_all(
      [&](sfu::Engine& e) {
        std::lock_guard lock(mu);
        seen.insert(&e);
      },
      [&] { finished = true; });
  for (int i = 0; i < 400 && !finished; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    control.restart();
    control.poll();
  }
  EXPECT_TRUE(finished);
  EXPECT_EQ(seen, (std::set<sfu::Engine*>{a, b}));
  pool.stop();
}

}  // namespace
}  // namespace lss
