#include "webhook/queue_naming.hpp"

#include <openssl/sha.h>

#include <charconv>
#include <cstdio>

namespace lss::webhook {
namespace {
constexpr size_t kDigits = 20;  // UINT64_MAX has 20 decimal digits
constexpr std::string_view kSuffix = ".json";
}  // namespace

std::string queue_file_name(uint64_t seq) {
  char buf[kDigits + 1];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
  return std::string(buf) + std::string(kSuffix);
}

std::optional<uint64_t> parse_queue_file_name(std::string_view name) {
  if (name.size() != kDigits + kSuffix.size() || name.substr(kDigits) != kSuffix) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + kDigits, seq);
  if (ec != std::errc() || end != name.data() + kDigits) return std::nullopt;
  return seq;
}

std::string receiver_dir_name(std::string_view url) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(url.data()), url.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace lss::webhook
