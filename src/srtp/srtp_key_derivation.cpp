#include "srtp/srtp_key_derivation.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace lss {

namespace {
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
}  // namespace

Status aes_cm_keystream(ByteSpan key, const uint8_t* iv, uint8_t* out, size_t len) {
  const EVP_CIPHER* cipher = key.size() == 16   ? EVP_aes_128_ctr()
                             : key.size() == 32 ? EVP_aes_256_ctr()
                                                : nullptr;
  if (cipher == nullptr) return make_error("AES-CM key must be 16 or 32 bytes");
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv) != 1) {
    return make_error("AES-CM initialisation failed");
  }
  // Keystream = the encryption of zeros.
  std::memset(out, 0, len);
  size_t done = 0;
  while (done < len) {
    const int chunk = int(len - done > 4096 ? 4096 : len - done);
    int outl = 0;
    if (EVP_EncryptUpdate(ctx.get(), out + done, &outl, out + done, chunk) != 1 || outl != chunk) {
      return make_error("AES-CM keystream failed");
    }
    done += size_t(chunk);
  }
  return {};
}

Status srtp_kdf(ByteSpan master_key, ByteSpan master_salt, SrtpLabel label, uint8_t* out,
                size_t len) {
  if (master_salt.size() != 14 && master_salt.size() != 12) {
    return make_error("SRTP master salt must be 14 or 12 bytes");
  }
  uint8_t iv[16] = {};
  std::memcpy(iv, master_salt.data(), master_salt.size());
  iv[7] ^= uint8_t(label);
  return aes_cm_keystream(master_key, iv, out, len);
}

Result<SrtpSessionKeys> derive_srtp_session_keys(SrtpProfile profile, ByteSpan master) {
  SrtpSessionKeys k;
  k.key_length = srtp_key_length(profile);
  k.salt_length = srtp_salt_length(profile);
  if (master.size() != k.key_length + k.salt_length) {
    return make_error("SRTP master key+salt has the wrong length");
  }
  const ByteSpan key = master.first(k.key_length);
  const ByteSpan salt = master.subspan(k.key_length);
  struct Job {
    SrtpLabel label;
    uint8_t* out;
    size_t len;
  };
  const bool aead = srtp_is_aead(profile);
  const Job jobs[] = {
      {SrtpLabel::kRtpEncryption, k.rtp_key, k.key_length},
      {SrtpLabel::kRtpSalt, k.rtp_salt, k.salt_length},
      {SrtpLabel::kRtcpEncryption, k.rtcp_key, k.key_length},
      {SrtpLabel::kRtcpSalt, k.rtcp_salt, k.salt_length},
      // GCM authenticates with its own tag: no HMAC keys to derive.
      {SrtpLabel::kRtpAuth, k.rtp_auth, aead ? 0 : sizeof k.rtp_auth},
      {SrtpLabel::kRtcpAuth, k.rtcp_auth, aead ? 0 : sizeof k.rtcp_auth},
  };
  for (const Job& j : jobs) {
    if (j.len == 0) continue;
    if (auto st = srtp_kdf(key, salt, j.label, j.out, j.len); !st.ok()) {
      OPENSSL_cleanse(&k, sizeof k);
      return Error{st.message()};
    }
  }
  return k;
}

}  // namespace lss
