#pragma once
// ASCII case folding for protocol tokens (codec names, SDP transports,
// header names), never locale-dependent.
#include <cctype>
#include <string>

namespace lss {

inline std::string to_upper_ascii(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

inline std::string to_lower_ascii(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace lss
