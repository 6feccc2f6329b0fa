#include "common/iso8601.hpp"

#include <ctime>

namespace lss {

std::string iso8601_utc(std::chrono::system_clock::time_point t, bool compact) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace lss
