#pragma once
// DTLS-SRTP protection profiles (RFC 5764, RFC 7714), shared by the DTLS
// handshake that negotiates one and the SRTP sessions that use it.
#include <cstddef>
#include <cstdint>

namespace lss {

enum class SrtpProfile : uint16_t {
  kAes128CmSha1_80 = 0x0001,
  kAes128CmSha1_32 = 0x0002,
  kAeadAes128Gcm = 0x0007,
  kAeadAes256Gcm = 0x0008,
};

constexpr size_t srtp_key_length(SrtpProfile p) {
  return p == SrtpProfile::kAeadAes256Gcm ? 32 : 16;
}
constexpr size_t srtp_salt_length(SrtpProfile p) {
  return (p == SrtpProfile::kAeadAes128Gcm || p == SrtpProfile::kAeadAes256Gcm) ? 12 : 14;
}

}  // namespace lss
