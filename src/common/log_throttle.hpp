#pragma once
// One log line per interval for an event that can come in floods (refused
// connections, failing accepts): the first is logged at once, the rest are
// counted and the count goes out with the next line, so an attack costs a
// line every `interval`, not one per event. Single-threaded.
#include <cstddef>
#include <optional>

#include "common/time.hpp"

namespace lss {

class LogThrottle {
 public:
  explicit LogThrottle(Duration interval) : interval_(interval) {}

  // When a line is due: how many events it stands for (this one and those
  // held back since the last line); else nullopt (counted for the next).
  std::optional<size_t> admit(Timestamp now) {
    ++held_;
    if (logged_once_ && now - last_ < interval_) return std::nullopt;
    logged_once_ = true;
    last_ = now;
    const size_t n = held_;
    held_ = 0;
    return n;
  }

 private:
  Duration interval_;
  Timestamp last_{};
  bool logged_once_ = false;
  size_t held_ = 0;
};

}  // namespace lss
