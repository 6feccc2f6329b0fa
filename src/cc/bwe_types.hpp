#pragma once
// Small types shared by the pieces of the send-side bandwidth estimator
// (src/cc/): the delay detector's verdict and microsecond conversions. The
// estimator does its arithmetic on integer microseconds and double
// milliseconds; the API takes lss::Timestamp/Duration like every sans-I/O layer.
#include <chrono>
#include <cstdint>

#include "common/time.hpp"

namespace lss::cc {

// What the delay-based detector concludes about the path (GCC's "signal").
enum class BandwidthUsage : uint8_t { kNormal, kUnderusing, kOverusing };

inline const char* to_string(BandwidthUsage u) {
  switch (u) {
    case BandwidthUsage::kNormal:
      return "normal";
    case BandwidthUsage::kUnderusing:
      return "underusing";
    case BandwidthUsage::kOverusing:
      return "overusing";
  }
  return "normal";
}

inline int64_t to_us(Duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}
inline int64_t to_us(Timestamp t) {
  return to_us(t.time_since_epoch());
}

}  // namespace lss::cc
