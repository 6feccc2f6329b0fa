// SrtpSession against the RFC vectors and against libsrtp2 itself, called
// through its C API as an oracle. Whichever implementation SrtpSession is
// built from (libsrtp2, or OpenSSL with LSS_SRTP_OPENSSL), it must produce the
// same bytes and accept and reject the same packets as libsrtp2.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <srtp2/srtp.h>

#include <cstring>
#include <random>
#include <string>

#include "srtp/replay_window.hpp"
#include "srtp/srtp_index.hpp"
#include "srtp/srtp_key_derivation.hpp"
#include "srtp/srtp_session.hpp"

namespace lss {
namespace {

Bytes hex(std::string_view s) {
  Bytes out;
  int hi = -1;
  for (char c : s) {
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(uint8_t(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

using Dir = SrtpSession::Direction;

// ---------------------------------------------------------------- oracle ---

// A libsrtp2 session configured the way the libsrtp2 SrtpSession was.
class Libsrtp {
 public:
  Libsrtp(SrtpProfile profile, const Bytes& master, Dir dir) {
    // libsrtp2's srtp_init fails when called twice. The libsrtp2 SrtpSession
    // calls it once on its first create(), so let it go first; with the
    // OpenSSL SrtpSession ours is the only call.
    static const bool init_done = [] {
      (void)SrtpSession::create(SrtpProfile::kAes128CmSha1_80, Bytes(30), Dir::kOutbound);
      (void)srtp_init();
      return true;
    }();
    (void)init_done;
    srtp_policy_t policy{};
    switch (profile) {
      case SrtpProfile::kAes128CmSha1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        break;
      case SrtpProfile::kAes128CmSha1_32:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        break;
      case SrtpProfile::kAeadAes128Gcm:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        break;
      case SrtpProfile::kAeadAes256Gcm:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
        break;
    }
    policy.ssrc.type = dir == Dir::kInbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = const_cast<uint8_t*>(master.data());
    policy.window_size = 1024;
    policy.allow_repeat_tx = dir == Dir::kOutbound ? 1 : 0;
    EXPECT_EQ(srtp_create(&s_, &policy), srtp_err_status_ok);
  }
  ~Libsrtp() { srtp_dealloc(s_); }
  Libsrtp(const Libsrtp&) = delete;
  Libsrtp& operator=(const Libsrtp&) = delete;

  // Each returns the libsrtp status; `pkt` is replaced by the output on success.
  srtp_err_status_t protect(Bytes& pkt) { return run(pkt, true, srtp_protect); }
  srtp_err_status_t protect_rtcp(Bytes& pkt) { return run(pkt, true, srtp_protect_rtcp); }
  srtp_err_status_t unprotect(Bytes& pkt) { return run(pkt, false, srtp_unprotect); }
  srtp_err_status_t unprotect_rtcp(Bytes& pkt) { return run(pkt, false, srtp_unprotect_rtcp); }

 private:
  srtp_err_status_t run(Bytes& pkt, bool grow, srtp_err_status_t (*fn)(srtp_t, void*, int*)) {
    Bytes buf = pkt;
    buf.resize(pkt.size() + (grow ? SRTP_MAX_TRAILER_LEN : 0));
    int n = int(pkt.size());
    srtp_err_status_t st = fn(s_, buf.data(), &n);
    if (st == srtp_err_status_ok) pkt.assign(buf.begin(), buf.begin() + n);
    return st;
  }
  srtp_t s_ = nullptr;
};

// The same calls on the SrtpSession under test.
struct Ours {
  Ours(SrtpProfile profile, const Bytes& master, Dir dir)
      : s(SrtpSession::create(profile, master, dir).value()) {}
  bool protect(Bytes& pkt) { return grow(pkt, &SrtpSession::protect_rtp); }
  bool protect_rtcp(Bytes& pkt) { return grow(pkt, &SrtpSession::protect_rtcp); }
  bool unprotect(Bytes& pkt) { return shrink(pkt, &SrtpSession::unprotect_rtp); }
  bool unprotect_rtcp(Bytes& pkt) { return shrink(pkt, &SrtpSession::unprotect_rtcp); }

  bool grow(Bytes& pkt, Status (SrtpSession::*fn)(uint8_t*, size_t&, size_t)) {
    Bytes buf = pkt;
    buf.resize(pkt.size() + SrtpSession::kMaxTrailer);
    size_t len = pkt.size();
    if (!((*s).*fn)(buf.data(), len, buf.size()).ok()) return false;
    pkt.assign(buf.begin(), buf.begin() + ptrdiff_t(len));
    return true;
  }
  bool shrink(Bytes& pkt, Status (SrtpSession::*fn)(uint8_t*, size_t&)) {
    Bytes buf = pkt;
    size_t len = buf.size();
    if (!((*s).*fn)(buf.data(), len).ok()) return false;
    pkt.assign(buf.begin(), buf.begin() + ptrdiff_t(len));
    return true;
  }
  std::unique_ptr<SrtpSession> s;
};

Bytes master_for(SrtpProfile p, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes m(srtp_key_length(p) + srtp_salt_length(p));
  for (auto& b : m) b = uint8_t(rng());
  return m;
}

// An RTP packet with `csrcs` CSRCs, an optional RFC 8285 extension block of
// `ext_words` words, and `payload` bytes; with `padding`, the last byte counts it.
Bytes make_rtp(uint32_t ssrc, uint16_t seq, size_t payload, size_t csrcs = 0, int ext_words = -1,
               uint8_t padding = 0, uint8_t fill = 0x5a) {
  Bytes p;
  p.push_back(uint8_t(0x80 | (padding ? 0x20 : 0) | (ext_words >= 0 ? 0x10 : 0) | csrcs));
  p.push_back(96);
  p.resize(12);
  store_be16(p.data() + 2, seq);
  store_be32(p.data() + 4, 0x01020304u + seq);
  store_be32(p.data() + 8, ssrc);
  for (size_t i = 0; i < csrcs; ++i) {
    for (int b = 0; b < 4; ++b) p.push_back(uint8_t(0xc0 + i));
  }
  if (ext_words >= 0) {
    p.push_back(0xbe);
    p.push_back(0xde);
    p.push_back(uint8_t(ext_words >> 8));
    p.push_back(uint8_t(ext_words));
    for (int i = 0; i < 4 * ext_words; ++i) p.push_back(uint8_t(0xe0 + i));
  }
  for (size_t i = 0; i < payload; ++i) p.push_back(uint8_t(fill + i));
  if (padding) {
    for (uint8_t i = 1; i < padding; ++i) p.push_back(0);
    p.push_back(padding);
  }
  return p;
}

// A sender report (+ a receiver report block) from `ssrc`, `words` 32-bit words long.
Bytes make_rtcp(uint32_t ssrc, size_t words = 7, uint8_t fill = 0) {
  Bytes p(4 * words, 0);
  p[0] = 0x80;
  p[1] = 200;
  store_be16(p.data() + 2, uint16_t(words - 1));
  store_be32(p.data() + 4, ssrc);
  for (size_t i = 8; i < p.size(); ++i) p[i] = uint8_t(fill + i);
  return p;
}

// ------------------------------------------------------- RFC 3711 vectors ---

TEST(SrtpVectors, Rfc3711B2AesCmKeystream) {
  const Bytes key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
  const Bytes salt = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
  uint8_t iv[16];
  srtp_cm_iv(salt.data(), /*ssrc=*/0, /*index=*/0, iv);
  EXPECT_EQ(Bytes(iv, iv + 16), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
  Bytes ks(16 * 0xff02);
  ASSERT_TRUE(aes_cm_keystream(key, iv, ks.data(), ks.size()).ok());
  auto block = [&](size_t i) { return Bytes(ks.begin() + 16 * i, ks.begin() + 16 * (i + 1)); };
  EXPECT_EQ(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
  EXPECT_EQ(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
  EXPECT_EQ(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
  EXPECT_EQ(block(0xfeff), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
  EXPECT_EQ(block(0xff00), hex("362B7C3C6773516318A077D7FC5073AE"));
  EXPECT_EQ(block(0xff01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
}

TEST(SrtpVectors, Rfc3711B3KeyDerivation) {
  const Bytes master = hex("E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6");
  auto keys = derive_srtp_session_keys(SrtpProfile::kAes128CmSha1_80, master);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(Bytes(keys->rtp_key, keys->rtp_key + 16), hex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(Bytes(keys->rtp_salt, keys->rtp_salt + 14), hex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_EQ(Bytes(keys->rtp_auth, keys->rtp_auth + 20),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
  // B.3 lists 94 auth-key bytes; SRTP uses 20, whose prefix the PRF fixes.
  Bytes long_auth(94);
  ASSERT_TRUE(srtp_kdf(ByteSpan(master).first(16), ByteSpan(master).subspan(16),
                       SrtpLabel::kRtpAuth, long_auth.data(), long_auth.size())
                  .ok());
  EXPECT_EQ(Bytes(long_auth.begin(), long_auth.begin() + 20),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
  EXPECT_FALSE(derive_srtp_session_keys(SrtpProfile::kAes128CmSha1_80, Bytes(29)).ok());
}

// ------------------------------------------------------- RFC 7714 vectors ---

// RFC 7714 §16-17 give session keys, so they exercise the IV and AAD layout
// (srtp_aead_iv, header as AAD, header + E||index as SRTCP AAD) with AES-GCM.
Bytes gcm(bool seal, const Bytes& key, const uint8_t* iv, const Bytes& aad, const Bytes& in,
          Bytes* tag) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  const EVP_CIPHER* cipher = key.size() == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
  EXPECT_EQ(EVP_CipherInit_ex2(c, cipher, key.data(), iv, seal ? 1 : 0, nullptr), 1);
  int outl = 0;
  EXPECT_EQ(EVP_CipherUpdate(c, nullptr, &outl, aad.data(), int(aad.size())), 1);
  Bytes out(in.size());
  EXPECT_EQ(EVP_CipherUpdate(c, out.data(), &outl, in.data(), int(in.size())), 1);
  if (!seal) EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag->data());
  const bool ok = EVP_CipherFinal_ex(c, out.data() + out.size(), &outl) == 1;
  if (seal) {
    tag->resize(16);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag->data());
  }
  EVP_CIPHER_CTX_free(c);
  if (!ok) out.clear();
  return out;
}

const char* const kRfc7714Key128 = "000102030405060708090a0b0c0d0e0f";
const char* const kRfc7714Key256 =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const char* const kRfc7714Salt = "517569642070726f2071756f";

TEST(SrtpVectors, Rfc7714SrtpGcm) {
  const Bytes salt = hex(kRfc7714Salt);
  const Bytes packet = hex(
      "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070"
      "61727465 73207472 6573");
  uint8_t iv[12];
  srtp_aead_iv(salt.data(), load_be32(packet.data() + 8), /*ROC 0, SEQ*/ 0xf17b, iv);
  EXPECT_EQ(Bytes(iv, iv + 12), hex("51753c6580c2726f20718414"));
  const Bytes header(packet.begin(), packet.begin() + 12);
  const Bytes plain(packet.begin() + 12, packet.end());
  struct Case {
    const char* key;
    const char* sealed;
  } cases[] = {
      {kRfc7714Key128,
       "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36"
       "de3adf8833899d7f27beb16a9152cf765ee4390cce"},
      {kRfc7714Key256,
       "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1b"
       "a63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13"},
  };
  for (const Case& c : cases) {
    Bytes tag;
    Bytes sealed = header;
    const Bytes ct = gcm(true, hex(c.key), iv, header, plain, &tag);
    sealed.insert(sealed.end(), ct.begin(), ct.end());
    sealed.insert(sealed.end(), tag.begin(), tag.end());
    EXPECT_EQ(sealed, hex(c.sealed));
    EXPECT_EQ(gcm(false, hex(c.key), iv, header, ct, &tag), plain);
  }
}

TEST(SrtpVectors, Rfc7714SrtcpGcm) {
  const Bytes salt = hex(kRfc7714Salt);
  const Bytes packet = hex(
      "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef"
      "deadbeef deadbeef deadbeef");
  const uint32_t index = 0x5d4;
  uint8_t iv[12];
  srtp_aead_iv(salt.data(), load_be32(packet.data() + 4), index, iv);
  EXPECT_EQ(Bytes(iv, iv + 12), hex("517524055203726f207170bb"));
  Bytes aad(packet.begin(), packet.begin() + 8);
  const Bytes trailer = hex("800005d4");  // E bit || SRTCP index
  aad.insert(aad.end(), trailer.begin(), trailer.end());
  const Bytes plain(packet.begin() + 8, packet.end());
  struct Case {
    const char* key;
    const char* sealed;
  } cases[] = {
      {kRfc7714Key128,
       "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686"
       "303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4"},
      {kRfc7714Key256,
       "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c6"
       "1de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4"},
  };
  for (const Case& c : cases) {
    Bytes tag;
    Bytes sealed(packet.begin(), packet.begin() + 8);
    const Bytes ct = gcm(true, hex(c.key), iv, aad, plain, &tag);
    sealed.insert(sealed.end(), ct.begin(), ct.end());
    sealed.insert(sealed.end(), tag.begin(), tag.end());
    sealed.insert(sealed.end(), trailer.begin(), trailer.end());
    EXPECT_EQ(sealed, hex(c.sealed));
    EXPECT_EQ(gcm(false, hex(c.key), iv, aad, ct, &tag), plain);
  }
}

// ------------------------------------------------------ index and window ---

TEST(SrtpIndex, EstimatesRocLikeRfc3711AppendixA) {
  EXPECT_EQ(estimate_srtp_index(0, 5).index, 5u);
  EXPECT_EQ(estimate_srtp_index(65530, 10).index, (1u << 16) | 10);  // wrapped forward
  EXPECT_EQ(estimate_srtp_index(65530, 10).delta, 16);
  EXPECT_EQ(estimate_srtp_index((1u << 16) | 10, 65530).index, 65530u);  // late, old ROC
  EXPECT_EQ(estimate_srtp_index((1u << 16) | 10, 65530).delta, -16);
  EXPECT_EQ(estimate_srtp_index(100, 65000).index, 65000u);  // no ROC -1 in ROC 0
}

TEST(SrtpReplay, WindowEdges) {
  SrtpReplayWindow<1024> w;
  w.add(2000);
  EXPECT_EQ(w.highest(), 2000u);
  EXPECT_EQ(w.check(0), ReplayCheck::kDuplicate);
  EXPECT_EQ(w.check(-1023), ReplayCheck::kOk);
  EXPECT_EQ(w.check(-1024), ReplayCheck::kTooOld);
  w.add(-1023);
  EXPECT_EQ(w.check(-1023), ReplayCheck::kDuplicate);
  w.add(1);  // slides: 2000 - 1023 drops out
  EXPECT_EQ(w.check(-1024), ReplayCheck::kTooOld);
  EXPECT_EQ(w.check(-1), ReplayCheck::kDuplicate);
  w.add(5000);  // a jump beyond the window forgets everything
  EXPECT_EQ(w.check(-1), ReplayCheck::kOk);

  SrtcpReplayWindow r;
  EXPECT_EQ(r.check(1), ReplayCheck::kOk);
  r.add(1);
  EXPECT_EQ(r.check(1), ReplayCheck::kDuplicate);
  r.add(300);  // window now [173, 300]
  EXPECT_EQ(r.check(172), ReplayCheck::kTooOld);
  EXPECT_EQ(r.check(173), ReplayCheck::kOk);
  EXPECT_EQ(r.check(300), ReplayCheck::kDuplicate);
}

// ------------------------------------------------- cross-check libsrtp2 ---

class SrtpVsLibsrtp : public ::testing::TestWithParam<SrtpProfile> {
 protected:
  SrtpProfile profile() const { return GetParam(); }
};

TEST_P(SrtpVsLibsrtp, RtpBothWaysIsByteIdentical) {
  const Bytes m = master_for(profile(), 1);
  Ours ours_tx(profile(), m, Dir::kOutbound), ours_rx(profile(), m, Dir::kInbound);
  Libsrtp lib_tx(profile(), m, Dir::kOutbound), lib_rx(profile(), m, Dir::kInbound);
  for (uint16_t seq = 1000; seq < 1100; ++seq) {
    const Bytes plain = make_rtp(0x11223344, seq, 10 + seq % 200, seq % 3, seq % 2 ? 2 : -1);
    Bytes a = plain, b = plain;
    ASSERT_TRUE(ours_tx.protect(a));
    ASSERT_EQ(lib_tx.protect(b), srtp_err_status_ok);
    ASSERT_EQ(a, b) << "seq " << seq;
    Bytes a_rx = a;
    ASSERT_EQ(lib_rx.unprotect(a_rx), srtp_err_status_ok);
    EXPECT_EQ(a_rx, plain);
    ASSERT_TRUE(ours_rx.unprotect(b));
    EXPECT_EQ(b, plain);
  }
}

TEST_P(SrtpVsLibsrtp, SequenceWrapIncrementsRoc) {
  const Bytes m = master_for(profile(), 2);
  Ours ours_tx(profile(), m, Dir::kOutbound), ours_rx(profile(), m, Dir::kInbound);
  Libsrtp lib_tx(profile(), m, Dir::kOutbound), lib_rx(profile(), m, Dir::kInbound);
  Bytes before_wrap;
  for (uint32_t i = 65530; i <= 65536 + 10; ++i) {
    const uint16_t seq = uint16_t(i);
    const Bytes plain = make_rtp(0xabcdef01, seq, 160);
    Bytes a = plain, b = plain;
    ASSERT_TRUE(ours_tx.protect(a));
    ASSERT_EQ(lib_tx.protect(b), srtp_err_status_ok);
    ASSERT_EQ(a, b) << "seq " << seq;  // same ROC on both sides, or the tags differ
    Bytes a_rx = a;
    ASSERT_EQ(lib_rx.unprotect(a_rx), srtp_err_status_ok) << seq;
    EXPECT_EQ(a_rx, plain);
    ASSERT_TRUE(ours_rx.unprotect(b)) << seq;
    EXPECT_EQ(b, plain);
    if (seq == 65534) before_wrap = a;
  }
  // A late packet from ROC 0 after the wrap is still accepted once, then replayed.
  Bytes late = make_rtp(0xabcdef01, 65529, 160);
  Bytes a = late, b = late;
  ASSERT_TRUE(ours_tx.protect(a));
  ASSERT_EQ(lib_tx.protect(b), srtp_err_status_ok);
  ASSERT_EQ(a, b);
  Bytes a2 = a;
  EXPECT_TRUE(ours_rx.unprotect(a2));
  EXPECT_EQ(lib_rx.unprotect(b), srtp_err_status_ok);
  EXPECT_FALSE(ours_rx.unprotect(a));
  Bytes again = before_wrap;
  EXPECT_FALSE(ours_rx.unprotect(again));
  EXPECT_NE(lib_rx.unprotect(before_wrap), srtp_err_status_ok);
}

TEST_P(SrtpVsLibsrtp, ReplayAndTamperingAreRejected) {
  const Bytes m = master_for(profile(), 3);
  Ours ours_rx(profile(), m, Dir::kInbound);
  Libsrtp lib_tx(profile(), m, Dir::kOutbound);
  const Bytes plain = make_rtp(0x5555, 77, 300, 2, 3);
  Bytes p = plain;
  ASSERT_EQ(lib_tx.protect(p), srtp_err_status_ok);
  // Flip a bit of the tag, of the payload, of the extension, of the sequence number.
  for (size_t at : {p.size() - 1, size_t(60), size_t(30), size_t(3)}) {
    Bytes t = p;
    t[at] ^= 0x01;
    EXPECT_FALSE(ours_rx.unprotect(t)) << "byte " << at;
  }
  Bytes truncated(p.begin(), p.end() - 1);
  EXPECT_FALSE(ours_rx.unprotect(truncated));
  Bytes first = p;
  ASSERT_TRUE(ours_rx.unprotect(first));  // failures above did not poison the stream
  EXPECT_EQ(first, plain);
  Bytes replay = p;
  EXPECT_FALSE(ours_rx.unprotect(replay));
}

TEST_P(SrtpVsLibsrtp, RtcpBothWays) {
  const Bytes m = master_for(profile(), 4);
  Ours ours_tx(profile(), m, Dir::kOutbound), ours_rx(profile(), m, Dir::kInbound);
  Libsrtp lib_tx(profile(), m, Dir::kOutbound), lib_rx(profile(), m, Dir::kInbound);
  // Past index 128 and 256: the SRTCP window slides and index bits above 7 matter.
  for (int i = 0; i < 300; ++i) {
    const uint32_t ssrc = i % 3 == 0 ? 0x1111 : 0x2222;
    const Bytes plain = make_rtcp(ssrc, 2 + i % 20, uint8_t(i));
    Bytes a = plain, b = plain;
    ASSERT_TRUE(ours_tx.protect_rtcp(a));
    ASSERT_EQ(lib_tx.protect_rtcp(b), srtp_err_status_ok);
    ASSERT_EQ(a, b) << i;
    Bytes a_rx = a;
    ASSERT_EQ(lib_rx.unprotect_rtcp(a_rx), srtp_err_status_ok);
    EXPECT_EQ(a_rx, plain);
    Bytes b_rx = b;
    ASSERT_TRUE(ours_rx.unprotect_rtcp(b_rx)) << i;
    EXPECT_EQ(b_rx, plain);
    EXPECT_FALSE(ours_rx.unprotect_rtcp(b)) << "replayed SRTCP " << i;
    Bytes t = a;
    t[10] ^= 0x80;
    EXPECT_FALSE(ours_rx.unprotect_rtcp(t));
  }
}

// SRTCP with the E bit clear: libsrtp2 lets GCM authenticate it (RFC 7714 §9.3)
// but refuses it for AES-CM; ours must agree.
TEST_P(SrtpVsLibsrtp, SrtcpWithoutEncryptionBit) {
  const Bytes m = master_for(profile(), 5);
  Ours ours_rx(profile(), m, Dir::kInbound);
  Libsrtp lib_rx(profile(), m, Dir::kInbound);
  auto keys = derive_srtp_session_keys(profile(), m);
  ASSERT_TRUE(keys.ok());
  const Bytes plain = make_rtcp(0x7777, 9, 3);
  const uint32_t index = 42;
  Bytes pkt = plain;
  Bytes trailer(4);
  store_be32(trailer.data(), index);  // E = 0
  if (srtp_is_aead(profile())) {
    uint8_t iv[12];
    srtp_aead_iv(keys->rtcp_salt, 0x7777, index, iv);
    Bytes aad = plain;
    aad.insert(aad.end(), trailer.begin(), trailer.end());
    Bytes tag;
    gcm(true, Bytes(keys->rtcp_key, keys->rtcp_key + keys->key_length), iv, aad, {}, &tag);
    pkt.insert(pkt.end(), tag.begin(), tag.end());
    pkt.insert(pkt.end(), trailer.begin(), trailer.end());
  } else {
    pkt.insert(pkt.end(), trailer.begin(), trailer.end());
    pkt.resize(pkt.size() + 10);  // whatever the tag, E = 0 is refused first
  }
  Bytes a = pkt, b = pkt;
  const bool lib_ok = lib_rx.unprotect_rtcp(a) == srtp_err_status_ok;
  EXPECT_EQ(lib_ok, srtp_is_aead(profile()));
  EXPECT_EQ(ours_rx.unprotect_rtcp(b), lib_ok);
  if (lib_ok) {
    EXPECT_EQ(a, plain);
    EXPECT_EQ(b, plain);
  }
}

// 1000 random packets (CSRCs, extensions, padding, several SSRCs, reordering,
// repeats, jumps past the window, interleaved RTCP): ours and libsrtp2 must
// produce the same bytes and the same verdicts, and unprotect each other's output.
TEST_P(SrtpVsLibsrtp, RandomTrafficMatchesLibsrtp) {
  std::mt19937 rng(0x5eed + uint32_t(profile()));
  const Bytes m = master_for(profile(), 6);
  Ours ours_tx(profile(), m, Dir::kOutbound), ours_rx(profile(), m, Dir::kInbound);
  Libsrtp lib_tx(profile(), m, Dir::kOutbound), lib_rx(profile(), m, Dir::kInbound);
  const uint32_t ssrcs[] = {0x1, 0xdeadbeef, 0x80000000};
  uint16_t next_seq[3] = {65000, 0, 30000};
  std::vector<Bytes> sent;  // protected packets, for replays
  std::vector<bool> sent_rtcp;
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 1000; ++i) {
    const size_t k = rng() % 3;
    const int kind = int(rng() % 10);
    Bytes plain;
    bool rtcp = false;
    if (kind == 0) {
      rtcp = true;
      plain = make_rtcp(ssrcs[k], 2 + rng() % 60, uint8_t(rng()));
    } else {
      uint16_t seq = next_seq[k]++;
      if (kind == 1) seq = uint16_t(seq - 1 - rng() % 1100);  // late; maybe past the window
      if (kind == 2) next_seq[k] = uint16_t(next_seq[k] + rng() % 3000);  // loss burst
      const size_t payload = rng() % 1200;
      const size_t csrcs = rng() % 4 == 0 ? rng() % 16 : 0;
      const int ext = rng() % 2 ? int(rng() % 12) : -1;
      const uint8_t padding = rng() % 5 == 0 ? uint8_t(1 + rng() % 255) : 0;
      plain = make_rtp(ssrcs[k], seq, payload, csrcs, ext, padding, uint8_t(rng()));
    }
    Bytes a = plain, b = plain;
    const bool ours_ok = rtcp ? ours_tx.protect_rtcp(a) : ours_tx.protect(a);
    const bool lib_ok = (rtcp ? lib_tx.protect_rtcp(b) : lib_tx.protect(b)) == srtp_err_status_ok;
    ASSERT_EQ(ours_ok, lib_ok) << "protect verdict, packet " << i;
    if (!ours_ok) continue;
    ASSERT_EQ(a, b) << "protected bytes, packet " << i;
    // Deliver, sometimes a replay of an earlier packet instead.
    Bytes wire = a;
    bool wire_rtcp = rtcp;
    if (rng() % 8 == 0 && !sent.empty()) {
      const size_t j = rng() % sent.size();
      wire = sent[j];
      wire_rtcp = sent_rtcp[j];
    }
    sent.push_back(a);
    sent_rtcp.push_back(rtcp);
    Bytes x = wire, y = wire;
    const bool ours_rx_ok = wire_rtcp ? ours_rx.unprotect_rtcp(x) : ours_rx.unprotect(x);
    const bool lib_rx_ok =
        (wire_rtcp ? lib_rx.unprotect_rtcp(y) : lib_rx.unprotect(y)) == srtp_err_status_ok;
    ASSERT_EQ(ours_rx_ok, lib_rx_ok) << "unprotect verdict, packet " << i;
    if (ours_rx_ok) {
      ASSERT_EQ(x, y) << "unprotected bytes, packet " << i;
      ++accepted;
    } else {
      ++rejected;
    }
    if (wire == a) {
      EXPECT_EQ(ours_rx_ok ? x : plain, plain);
    }
  }
  EXPECT_GT(accepted, 700);
  EXPECT_GT(rejected, 20);  // replays and too-old packets were exercised
}

TEST_P(SrtpVsLibsrtp, OutboundRepeatsButNotTooOld) {
  const Bytes m = master_for(profile(), 7);
  Ours ours_tx(profile(), m, Dir::kOutbound);
  Libsrtp lib_tx(profile(), m, Dir::kOutbound);
  for (uint16_t seq : {uint16_t(5000), uint16_t(5000), uint16_t(4500), uint16_t(3976),
                       uint16_t(3977), uint16_t(6000), uint16_t(4000)}) {
    Bytes a = make_rtp(9, seq, 50), b = a;
    const bool ours_ok = ours_tx.protect(a);
    EXPECT_EQ(ours_ok, lib_tx.protect(b) == srtp_err_status_ok) << seq;
    if (ours_ok) {
      EXPECT_EQ(a, b);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, SrtpVsLibsrtp,
                         ::testing::Values(SrtpProfile::kAes128CmSha1_80,
                                           SrtpProfile::kAes128CmSha1_32,
                                           SrtpProfile::kAeadAes128Gcm,
                                           SrtpProfile::kAeadAes256Gcm));

}  // namespace
}  // namespace lss
