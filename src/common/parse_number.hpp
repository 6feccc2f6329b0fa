#pragma once
// Strict decimal parsing for protocol fields (SDP, HTTP ranges, ...).
#include <charconv>
#include <string_view>

namespace lss {

// A whole decimal field that fits T (no sign for unsigned T, no spaces, no
// trailing characters).
template <typename T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace lss
