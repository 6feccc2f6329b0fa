#pragma once
// UTC wall-clock times as the catalog, the API and object keys write them.
#include <chrono>
#include <string>

namespace lss {

// "2026-11-24T15:04:05Z", or "20261124T150405Z" when `compact` (object keys).
std::string iso8601_utc(std::chrono::system_clock::time_point t = std::chrono::system_clock::now(),
                        bool compact = false);

}  // namespace lss
