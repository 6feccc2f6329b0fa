#include "signal/publish_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>

namespace lss::signal {

bool keys_equal(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

std::string_view bearer_token(std::string_view auth) {
  constexpr std::string_view kScheme = "bearer ";
  if (auth.size() < kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(auth[i])) != kScheme[i]) return {};
  }
  auth.remove_prefix(kScheme.size());
  while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
  while (!auth.empty() && (auth.back() == ' ' || auth.back() == '\t')) auth.remove_suffix(1);
  return auth;
}

AuthDecision authorize_publish(std::string_view configured_key, std::string_view presented_key,
                               const SocketAddress& remote) {
  if (configured_key.empty()) {
    return remote.is_loopback() ? AuthDecision::kAllowed : AuthDecision::kLoopbackOnly;
  }
  if (presented_key.empty()) return AuthDecision::kMissingKey;
  return keys_equal(configured_key, presented_key) ? AuthDecision::kAllowed
                                                   : AuthDecision::kWrongKey;
}

bool valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace lss::signal
