#pragma once
// Who may publish: with a stream key configured, whoever presents it (compared
// in constant time); without one, only clients on this machine (loopback).
#include <string>
#include <string_view>

#include "common/socket_address.hpp"

namespace lss::signal {

// Constant-time equality that does not leak the length of either input:
// both sides are hashed (SHA-256) and the digests compared with CRYPTO_memcmp.
bool keys_equal(std::string_view a, std::string_view b);

// The token of an "Authorization: Bearer <token>" header value, or empty.
std::string_view bearer_token(std::string_view authorization);

enum class AuthDecision { kAllowed, kMissingKey, kWrongKey, kLoopbackOnly };

AuthDecision authorize_publish(std::string_view configured_key, std::string_view presented_key,
                               const SocketAddress& remote);

// Stream names double as folder and object-key prefixes: 1..64 of [A-Za-z0-9_-].
bool valid_stream_name(std::string_view name);

}  // namespace lss::signal
