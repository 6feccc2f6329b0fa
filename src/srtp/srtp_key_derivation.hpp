#pragma once
// SRTP session keys and per-packet IVs (RFC 3711 §4.1.1, §4.3; RFC 7714 §8.1,
// §9.1, §11). Key derivation runs once per session, so it may allocate; the
// IV builders run per packet and only do arithmetic.
#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/srtp_profile.hpp"

namespace lss {

// RFC 3711 §4.3.1 labels (kdr = 0, so the index never enters the derivation).
enum class SrtpLabel : uint8_t {
  kRtpEncryption = 0,
  kRtpAuth = 1,
  kRtpSalt = 2,
  kRtcpEncryption = 3,
  kRtcpAuth = 4,
  kRtcpSalt = 5,
};

// One direction's session keys. AES-CM profiles use all fields (14-byte salts,
// 20-byte HMAC-SHA1 keys); AEAD profiles use the key and the first 12 salt bytes.
struct SrtpSessionKeys {
  size_t key_length = 0;   // 16 or 32
  size_t salt_length = 0;  // 14 (AES-CM) or 12 (AES-GCM)
  uint8_t rtp_key[32] = {};
  uint8_t rtp_salt[14] = {};
  uint8_t rtp_auth[20] = {};
  uint8_t rtcp_key[32] = {};
  uint8_t rtcp_salt[14] = {};
  uint8_t rtcp_auth[20] = {};
};

constexpr bool srtp_is_aead(SrtpProfile p) {
  return p == SrtpProfile::kAeadAes128Gcm || p == SrtpProfile::kAeadAes256Gcm;
}

// AES in counter mode (RFC 3711 §4.1.1): `len` keystream bytes for `key`
// (16 or 32 bytes) from the 16-byte initial counter block `iv`.
Status aes_cm_keystream(ByteSpan key, const uint8_t* iv, uint8_t* out, size_t len);

// The AES-CM PRF (RFC 3711 §4.3.1/§4.3.3, kdr = 0): x = label at octet 7
// XOR master salt, keystream from IV x * 2^16. A 12-byte AEAD master salt is
// used as its 14-byte zero-padded form (RFC 7714 §11; libsrtp2 does the same).
Status srtp_kdf(ByteSpan master_key, ByteSpan master_salt, SrtpLabel label, uint8_t* out,
                size_t len);

// All six session keys for `profile` from master key || master salt.
Result<SrtpSessionKeys> derive_srtp_session_keys(SrtpProfile profile, ByteSpan master);

// AES-CM IV (RFC 3711 §4.1.1): (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16).
// `index` is the 48-bit SRTP index or the 31-bit SRTCP index.
inline void srtp_cm_iv(const uint8_t* salt14, uint32_t ssrc, uint64_t index, uint8_t* iv16) {
  uint8_t in[16] = {};
  store_be32(in + 4, ssrc);
  store_be32(in + 8, uint32_t(index >> 16));
  store_be16(in + 12, uint16_t(index));
  for (int i = 0; i < 14; ++i) iv16[i] = in[i] ^ salt14[i];
  iv16[14] = 0;
  iv16[15] = 0;
}

// AEAD IV (RFC 7714 §8.1 for SRTP: 00 00 || SSRC || ROC || SEQ; §9.1 for
// SRTCP: 00 00 || SSRC || 00 00 || 0 || index), XOR the 12-byte salt. Both
// are SSRC followed by the index as 48 bits.
inline void srtp_aead_iv(const uint8_t* salt12, uint32_t ssrc, uint64_t index, uint8_t* iv12) {
  uint8_t in[12] = {};
  store_be32(in + 2, ssrc);
  store_be32(in + 6, uint32_t(index >> 16));
  store_be16(in + 10, uint16_t(index));
  for (int i = 0; i < 12; ++i) iv12[i] = in[i] ^ salt12[i];
}

}  // namespace lss
