#pragma once
// Sans-I/O layers never read the clock: callers pass `now` in, so tests and
// fuzzers drive time explicitly.
#include <chrono>

namespace lss {
using Clock = std::chrono::steady_clock;
using Timestamp = Clock::time_point;
using Duration = Clock::duration;
using std::chrono::milliseconds;
using std::chrono::seconds;
}  // namespace lss
