#pragma once
// Polls `cond` until it holds or `limit` passes: for tests of threads that
// act "soon" (a cluster thread, a subscriber), without fixed sleeps.
#include <chrono>
#include <functional>
#include <thread>

namespace lss::testing {

inline bool eventually(const std::function<bool()>& cond,
                       std::chrono::milliseconds limit = std::chrono::seconds(3)) {
  for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
    if (cond()) return true;
  }
  return cond();
}

}  // namespace lss::testing
