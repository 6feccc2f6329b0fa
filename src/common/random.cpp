#include "common/random.hpp"

#include <openssl/rand.h>

#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace lss {
namespace {
void fill(void* p, size_t n) {
  // RAND_bytes only fails when the OS entropy source is broken; nothing safe
  // can continue then.
  if (RAND_bytes(static_cast<unsigned char*>(p), static_cast<int>(n)) != 1) std::abort();
}
}  // namespace

uint32_t random_u32() {
  uint32_t v;
  fill(&v, sizeof v);
  return v;
}

uint64_t random_u64() {
  uint64_t v;
  fill(&v, sizeof v);
  return v;
}

std::string random_string(size_t length, std::string_view alphabet) {
  std::string out;
  out.reserve(length);
  const size_t n = alphabet.size();
  const uint32_t limit = uint32_t(256 - 256 % n);  // reject to avoid modulo bias
  while (out.size() < length) {
    unsigned char b[32];
    fill(b, sizeof b);
    for (unsigned char c : b) {
      if (c < limit && out.size() < length) out.push_back(alphabet[c % n]);
    }
  }
  return out;
}

std::string random_ice_chars(size_t length) {
  return random_string(length, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

std::string random_hex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) {
    unsigned char b;
    fill(&b, 1);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace lss
