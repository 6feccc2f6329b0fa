#pragma once
// Cryptographically strong randomness (OpenSSL RAND_bytes) for ICE
// credentials, SSRCs, session ids and tokens; never std::rand.
#include <cstdint>
#include <string>
#include <string_view>

namespace lss {

uint32_t random_u32();
uint64_t random_u64();
// A string of `length` characters drawn from `alphabet` without modulo bias.
std::string random_string(size_t length, std::string_view alphabet);
// ICE ufrag/pwd characters (RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/").
std::string random_ice_chars(size_t length);
// Lowercase hex of `bytes` random bytes (session ids, tokens).
std::string random_hex(size_t bytes);

}  // namespace lss
