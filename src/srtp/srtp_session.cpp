// SrtpSession on OpenSSL 3 (see srtp_session.hpp for the interface). It
// replaces libsrtp2 because Debian's libsrtp2 runs on NSS, whose PK11 calls
// allocate and take a mutex on every packet (5x the CPU for AES-CM, 2x for
// GCM). libsrtp2 stays as the unit tests' oracle.
//
// Wire behaviour deliberately matches libsrtp2 2.5 (the peer in every
// browser), not just the RFCs, down to which packets are accepted:
//  * streams are per SSRC (ROC, replay window, SRTCP index), created on the
//    first protect, or on the first unprotect that authenticates;
//  * SRTP replay window of 1024 indices, as the libsrtp2 session configured;
//    SRTCP replay window of 128 indices from index 0 (libsrtp2's rdb);
//  * the first SRTCP index sent is 1;
//  * outbound sessions may protect a sequence number again (NACK answers),
//    except one older than the window;
//  * AES-CM SRTCP without the E bit is rejected; AES-GCM SRTCP without it is
//    accepted as authenticated-only (RFC 7714 §9.3), as libsrtp2 does.
// Per-packet work allocates nothing and takes no lock: cipher contexts are
// keyed once and only get a new IV per packet; HMAC-SHA1 starts from
// precomputed inner/outer digest states.

// OpenSSL 3.0's HMAC (EVP_MAC or HMAC_CTX) re-initialisation duplicates the
// digest context, a malloc and a free per packet; the low-level SHA1 API,
// deprecated but present throughout 3.x, lets a precomputed state be copied.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "srtp/srtp_session.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstring>
#include <vector>

#include "srtp/replay_window.hpp"
#include "srtp/srtp_index.hpp"
#include "srtp/srtp_key_derivation.hpp"

namespace lss {

namespace {

constexpr size_t kRtpHeader = 12;
constexpr size_t kRtcpHeader = 8;
constexpr size_t kSrtcpIndexSize = 4;
constexpr uint32_t kSrtcpEBit = 0x80000000u;
constexpr uint32_t kMaxSrtcpIndex = 0x7fffffffu;
constexpr size_t kGcmTag = 16;
// libsrtp2 was configured with window_size = 1024; keep the reorder tolerance.
constexpr size_t kRtpReplayWindow = 1024;
// Streams a session holds before its tables grow: a viewer's outbound
// session has audio and video, a publisher's inbound one audio, video and
// RTX. Growing only happens when a new SSRC appears; each slot is ~170 bytes
// and there are thousands of viewers, so the reserve stays small.
constexpr size_t kReservedStreams = 4;

// Per-packet errors come from the network and must be cheap: these messages
// fit std::string's small buffer, so failing allocates nothing either.
Error packet_error(const char* what) {
  return make_error(what);
}

// The ciphers are fetched once per process; per-packet calls pass no cipher,
// so no provider lookup (which locks) happens on the hot path.
const EVP_CIPHER* fetched_cipher(bool aead, size_t key_length) {
  static EVP_CIPHER* const ctr128 = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
  static EVP_CIPHER* const ctr256 = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  static EVP_CIPHER* const gcm128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static EVP_CIPHER* const gcm256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (key_length == 16) return aead ? gcm128 : ctr128;
  if (key_length == 32) return aead ? gcm256 : ctr256;
  return nullptr;
}

// HMAC-SHA1 (RFC 2104) whose keyed inner and outer states are computed once.
class HmacSha1 {
 public:
  HmacSha1() = default;
  HmacSha1(const HmacSha1&) = delete;
  HmacSha1& operator=(const HmacSha1&) = delete;
  ~HmacSha1() { OPENSSL_cleanse(this, sizeof *this); }

  bool set_key(const uint8_t* key, size_t len) {
    if (len > SHA_CBLOCK) return false;
    uint8_t pad[SHA_CBLOCK];
    std::memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < len; ++i) pad[i] ^= key[i];
    bool ok = SHA1_Init(&inner_) == 1 && SHA1_Update(&inner_, pad, sizeof pad) == 1;
    std::memset(pad, 0x5c, sizeof pad);
    for (size_t i = 0; i < len; ++i) pad[i] ^= key[i];
    ok = ok && SHA1_Init(&outer_) == 1 && SHA1_Update(&outer_, pad, sizeof pad) == 1;
    OPENSSL_cleanse(pad, sizeof pad);
    return ok;
  }
  void begin() { work_ = inner_; }
  void update(const uint8_t* p, size_t n) { SHA1_Update(&work_, p, n); }
  void finish(uint8_t* out) {
    uint8_t inner_digest[SHA_DIGEST_LENGTH];
    SHA1_Final(inner_digest, &work_);
    work_ = outer_;
    SHA1_Update(&work_, inner_digest, sizeof inner_digest);
    SHA1_Final(out, &work_);
  }

 private:
  SHA_CTX inner_{};
  SHA_CTX outer_{};
  SHA_CTX work_{};
};

// The keys of one of SRTP or SRTCP, with its cipher context keyed once.
struct Transform {
  EVP_CIPHER_CTX* cipher = nullptr;
  HmacSha1 mac;  // AES-CM profiles only
  uint8_t salt[14] = {};
  size_t tag_length = 0;

  Transform() = default;
  Transform(const Transform&) = delete;
  Transform& operator=(const Transform&) = delete;
  ~Transform() {
    EVP_CIPHER_CTX_free(cipher);  // cleanses the key schedule
    OPENSSL_cleanse(salt, sizeof salt);
  }

  bool init(const EVP_CIPHER* c, const uint8_t* key, const uint8_t* salt_in, size_t salt_length,
            const uint8_t* auth_key, size_t auth_length, size_t tag) {
    cipher = EVP_CIPHER_CTX_new();
    if (cipher == nullptr || EVP_EncryptInit_ex2(cipher, c, key, nullptr, nullptr) != 1) {
      return false;
    }
    std::memcpy(salt, salt_in, salt_length);
    tag_length = tag;
    return auth_length == 0 || mac.set_key(auth_key, auth_length);
  }

  // AES-CM: XORs the keystream for `iv` into [p, p + n), in place.
  bool ctr_xor(const uint8_t* iv, uint8_t* p, size_t n) {
    if (EVP_EncryptInit_ex2(cipher, nullptr, nullptr, iv, nullptr) != 1) return false;
    int outl = 0;
    return n == 0 || (EVP_EncryptUpdate(cipher, p, &outl, p, int(n)) == 1 && size_t(outl) == n);
  }

  // AES-GCM over the AAD (in up to two pieces) and then [p, p + n) in place,
  // encrypting or decrypting; the tag is the caller's.
  bool gcm_update(bool encrypt, const uint8_t* iv, const uint8_t* aad1, size_t aad1_len,
                  const uint8_t* aad2, size_t aad2_len, uint8_t* p, size_t n) {
    int outl = 0;
    if (EVP_CipherInit_ex2(cipher, nullptr, nullptr, iv, encrypt ? 1 : 0, nullptr) != 1) {
      return false;
    }
    if (EVP_CipherUpdate(cipher, nullptr, &outl, aad1, int(aad1_len)) != 1) return false;
    if (aad2_len && EVP_CipherUpdate(cipher, nullptr, &outl, aad2, int(aad2_len)) != 1) {
      return false;
    }
    return n == 0 || (EVP_CipherUpdate(cipher, p, &outl, p, int(n)) == 1 && size_t(outl) == n);
  }

  // AES-GCM seal in place; the tag goes to `tag_out`.
  bool gcm_seal(const uint8_t* iv, const uint8_t* aad1, size_t aad1_len, const uint8_t* aad2,
                size_t aad2_len, uint8_t* p, size_t n, uint8_t* tag_out) {
    int outl = 0;
    return gcm_update(true, iv, aad1, aad1_len, aad2, aad2_len, p, n) &&
           EVP_EncryptFinal_ex(cipher, p + n, &outl) == 1 &&
           EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_GET_TAG, int(kGcmTag), tag_out) == 1;
  }

  // AES-GCM open in place; false if the tag does not verify.
  bool gcm_open(const uint8_t* iv, const uint8_t* aad1, size_t aad1_len, const uint8_t* aad2,
                size_t aad2_len, uint8_t* p, size_t n, const uint8_t* tag) {
    int outl = 0;
    // OpenSSL copies the expected tag; it does not write through the pointer.
    return gcm_update(false, iv, aad1, aad1_len, aad2, aad2_len, p, n) &&
           EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_SET_TAG, int(kGcmTag),
                               const_cast<uint8_t*>(tag)) == 1 &&
           EVP_DecryptFinal_ex(cipher, p + n, &outl) == 1;
  }

  // AES-CM tag: HMAC-SHA1 over [p, p + n) then `extra` (the ROC for SRTP).
  void hmac(const uint8_t* p, size_t n, const uint8_t* extra, size_t extra_len, uint8_t* out20) {
    mac.begin();
    mac.update(p, n);
    if (extra_len) mac.update(extra, extra_len);
    mac.finish(out20);
  }
};

// What libsrtp2 keeps per SSRC: ROC and replay state of SRTP and SRTCP.
struct StreamState {
  SrtpReplayWindow<kRtpReplayWindow> rtp;
  SrtcpReplayWindow rtcp_in;
  uint32_t rtcp_out_index = 0;  // last SRTCP index sent; the first one is 1
};

// Length of the RTP header including CSRCs and the extension (which stay in
// the clear but are authenticated), or 0 if `len` bytes cannot hold it.
size_t rtp_header_length(const uint8_t* data, size_t len) {
  size_t n = kRtpHeader + 4 * size_t(data[0] & 0x0f);
  if (data[0] & 0x10) {
    if (len < n + 4) return 0;
    n += 4 + 4 * size_t(load_be16(data + n + 2));
  }
  return len < n ? 0 : n;
}

// SrtpSession::session_ points to one of these.
struct OpenSslSrtpState {
  SrtpProfile profile;
  bool aead = false;
  bool allow_repeat_tx = false;
  Transform rtp;
  Transform rtcp;
  // Parallel tables: the SSRC scan touches only the compact SSRC array.
  std::vector<uint32_t> ssrcs;
  std::vector<StreamState> streams;
  size_t last_hit = 0;

  StreamState* find(uint32_t ssrc) {
    if (last_hit < ssrcs.size() && ssrcs[last_hit] == ssrc) return &streams[last_hit];
    for (size_t i = 0; i < ssrcs.size(); ++i) {
      if (ssrcs[i] == ssrc) {
        last_hit = i;
        return &streams[i];
      }
    }
    return nullptr;
  }
  StreamState* add(uint32_t ssrc) {
    ssrcs.push_back(ssrc);
    streams.emplace_back();
    last_hit = ssrcs.size() - 1;
    return &streams.back();
  }
  StreamState* find_or_add(uint32_t ssrc) {
    StreamState* s = find(ssrc);
    return s ? s : add(ssrc);
  }
};

OpenSslSrtpState& state(void* p) {
  return *static_cast<OpenSslSrtpState*>(p);
}

}  // namespace

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(SrtpProfile profile, ByteSpan master,
                                                         Direction direction) {
  size_t rtp_tag = 0;
  size_t rtcp_tag = 0;
  switch (profile) {
    case SrtpProfile::kAes128CmSha1_80:
      rtp_tag = rtcp_tag = 10;
      break;
    case SrtpProfile::kAes128CmSha1_32:
      rtp_tag = 4;
      rtcp_tag = 10;  // RFC 5764 §4.1.2: SRTCP keeps the 80-bit tag
      break;
    case SrtpProfile::kAeadAes128Gcm:
    case SrtpProfile::kAeadAes256Gcm:
      rtp_tag = rtcp_tag = kGcmTag;
      break;
    default:
      return make_error("unknown SRTP profile");
  }
  auto keys = derive_srtp_session_keys(profile, master);
  if (!keys.ok()) return keys.error();
  const bool aead = srtp_is_aead(profile);
  const EVP_CIPHER* cipher = fetched_cipher(aead, keys->key_length);
  if (cipher == nullptr) return make_error("OpenSSL lacks the SRTP cipher");

  auto st = std::make_unique<OpenSslSrtpState>();
  st->profile = profile;
  st->aead = aead;
  // Retransmissions answer NACKs with the same sequence number: allow them.
  st->allow_repeat_tx = direction == Direction::kOutbound;
  const size_t auth_length = aead ? 0 : sizeof keys->rtp_auth;
  const bool ok = st->rtp.init(cipher, keys->rtp_key, keys->rtp_salt, keys->salt_length,
                               keys->rtp_auth, auth_length, rtp_tag) &&
                  st->rtcp.init(cipher, keys->rtcp_key, keys->rtcp_salt, keys->salt_length,
                                keys->rtcp_auth, auth_length, rtcp_tag);
  OPENSSL_cleanse(&*keys, sizeof *keys);
  if (!ok) return make_error("OpenSSL SRTP cipher initialisation failed");
  st->ssrcs.reserve(kReservedStreams);
  st->streams.reserve(kReservedStreams);
  return std::unique_ptr<SrtpSession>(new SrtpSession(profile, st.release()));
}

SrtpSession::~SrtpSession() {
  delete static_cast<OpenSslSrtpState*>(session_);
}

lss::Status SrtpSession::protect_rtp(uint8_t* data, size_t& len, size_t capacity) {
  if (len < kRtpHeader || len + kMaxTrailer > capacity) return packet_error("SRTP no room");
  OpenSslSrtpState& s = state(session_);
  const size_t header = rtp_header_length(data, len);
  if (header == 0) return packet_error("SRTP bad header");
  const uint32_t ssrc = load_be32(data + 8);
  StreamState& stream = *s.find_or_add(ssrc);

  const SrtpIndexGuess guess = estimate_srtp_index(stream.rtp.highest(), load_be16(data + 2));
  const ReplayCheck replay = stream.rtp.check(guess.delta);
  if (replay == ReplayCheck::kTooOld) return packet_error("SRTP too old");
  if (replay == ReplayCheck::kDuplicate && !s.allow_repeat_tx) return packet_error("SRTP replayed");

  uint8_t* payload = data + header;
  const size_t payload_len = len - header;
  Transform& t = s.rtp;
  if (s.aead) {
    uint8_t iv[12];
    srtp_aead_iv(t.salt, ssrc, guess.index, iv);
    if (!t.gcm_seal(iv, data, header, nullptr, 0, payload, payload_len, data + len)) {
      return packet_error("SRTP cipher");
    }
  } else {
    uint8_t iv[16];
    srtp_cm_iv(t.salt, ssrc, guess.index, iv);
    if (!t.ctr_xor(iv, payload, payload_len)) return packet_error("SRTP cipher");
    uint8_t roc[4];
    store_be32(roc, uint32_t(guess.index >> 16));
    uint8_t tag[SHA_DIGEST_LENGTH];
    t.hmac(data, len, roc, sizeof roc, tag);
    std::memcpy(data + len, tag, t.tag_length);
  }
  if (replay == ReplayCheck::kOk) stream.rtp.add(guess.delta);
  len += t.tag_length;
  return {};
}

lss::Status SrtpSession::unprotect_rtp(uint8_t* data, size_t& len) {
  if (len < kRtpHeader) return packet_error("SRTP too short");
  OpenSslSrtpState& s = state(session_);
  Transform& t = s.rtp;
  const size_t header = rtp_header_length(data, len);
  if (header == 0 || len - header < t.tag_length) return packet_error("SRTP bad header");
  const uint32_t ssrc = load_be32(data + 8);
  const uint16_t seq = load_be16(data + 2);

  // An unknown SSRC is checked against a fresh stream (ROC 0, nothing seen)
  // and only gets a table entry once the packet authenticates, so forged
  // packets cannot grow the table.
  StreamState* stream = s.find(ssrc);
  const SrtpIndexGuess guess = estimate_srtp_index(stream ? stream->rtp.highest() : 0, seq);
  if (stream) {
    const ReplayCheck replay = stream->rtp.check(guess.delta);
    if (replay == ReplayCheck::kTooOld) return packet_error("SRTP too old");
    if (replay == ReplayCheck::kDuplicate) return packet_error("SRTP replayed");
  }

  uint8_t* payload = data + header;
  const size_t payload_len = len - header - t.tag_length;
  const uint8_t* tag = payload + payload_len;
  if (s.aead) {
    uint8_t iv[12];
    srtp_aead_iv(t.salt, ssrc, guess.index, iv);
    if (!t.gcm_open(iv, data, header, nullptr, 0, payload, payload_len, tag)) {
      return packet_error("SRTP auth fail");
    }
  } else {
    uint8_t roc[4];
    store_be32(roc, uint32_t(guess.index >> 16));
    uint8_t expected[SHA_DIGEST_LENGTH];
    t.hmac(data, len - t.tag_length, roc, sizeof roc, expected);
    if (CRYPTO_memcmp(expected, tag, t.tag_length) != 0) return packet_error("SRTP auth fail");
    uint8_t iv[16];
    srtp_cm_iv(t.salt, ssrc, guess.index, iv);
    if (!t.ctr_xor(iv, payload, payload_len)) return packet_error("SRTP cipher");
  }
  // Authenticated: only now may the packet move the ROC and the window.
  if (stream == nullptr) stream = s.add(ssrc);
  stream->rtp.add(guess.delta);
  len -= t.tag_length;
  return {};
}

lss::Status SrtpSession::protect_rtcp(uint8_t* data, size_t& len, size_t capacity) {
  if (len < kRtcpHeader || len + kMaxTrailer > capacity) return packet_error("SRTCP no room");
  OpenSslSrtpState& s = state(session_);
  Transform& t = s.rtcp;
  const uint32_t ssrc = load_be32(data + 4);
  StreamState& stream = *s.find_or_add(ssrc);
  if (stream.rtcp_out_index >= kMaxSrtcpIndex) return packet_error("SRTCP exhausted");
  const uint32_t index = stream.rtcp_out_index + 1;

  uint8_t trailer[kSrtcpIndexSize];
  store_be32(trailer, kSrtcpEBit | index);
  uint8_t* payload = data + kRtcpHeader;
  const size_t payload_len = len - kRtcpHeader;
  if (s.aead) {
    // RFC 7714 §17: header || ciphertext || tag || E+index; the AAD is the
    // header and the E+index word.
    uint8_t iv[12];
    srtp_aead_iv(t.salt, ssrc, index, iv);
    if (!t.gcm_seal(iv, data, kRtcpHeader, trailer, sizeof trailer, payload, payload_len,
                    data + len)) {
      return packet_error("SRTCP cipher");
    }
    std::memcpy(data + len + kGcmTag, trailer, sizeof trailer);
  } else {
    // RFC 3711 §3.4: header || ciphertext || E+index || tag over all before it.
    uint8_t iv[16];
    srtp_cm_iv(t.salt, ssrc, index, iv);
    if (!t.ctr_xor(iv, payload, payload_len)) return packet_error("SRTCP cipher");
    std::memcpy(data + len, trailer, sizeof trailer);
    uint8_t tag[SHA_DIGEST_LENGTH];
    t.hmac(data, len + sizeof trailer, nullptr, 0, tag);
    std::memcpy(data + len + sizeof trailer, tag, t.tag_length);
  }
  stream.rtcp_out_index = index;
  len += sizeof trailer + t.tag_length;
  return {};
}

lss::Status SrtpSession::unprotect_rtcp(uint8_t* data, size_t& len) {
  OpenSslSrtpState& s = state(session_);
  Transform& t = s.rtcp;
  if (len < kRtcpHeader + kSrtcpIndexSize + t.tag_length) return packet_error("SRTCP too short");
  const uint32_t ssrc = load_be32(data + 4);
  // AES-CM puts E+index before the tag, AES-GCM after it.
  const size_t trailer_at = s.aead ? len - kSrtcpIndexSize : len - t.tag_length - kSrtcpIndexSize;
  const uint8_t* trailer = data + trailer_at;
  const uint32_t word = load_be32(trailer);
  const bool encrypted = (word & kSrtcpEBit) != 0;
  const uint32_t index = word & kMaxSrtcpIndex;
  // The session always encrypts SRTCP; libsrtp2 refuses AES-CM packets that
  // say otherwise (before looking at the tag) but lets GCM authenticate them.
  if (!s.aead && !encrypted) return packet_error("SRTCP no E bit");

  StreamState* stream = s.find(ssrc);
  if (stream) {
    const ReplayCheck replay = stream->rtcp_in.check(index);
    if (replay == ReplayCheck::kTooOld) return packet_error("SRTCP too old");
    if (replay == ReplayCheck::kDuplicate) return packet_error("SRTCP replayed");
  }

  uint8_t* payload = data + kRtcpHeader;
  if (s.aead) {
    const uint8_t* tag = trailer - kGcmTag;
    const size_t body = size_t(tag - payload);
    uint8_t iv[12];
    srtp_aead_iv(t.salt, ssrc, index, iv);
    const bool ok =
        encrypted
            ? t.gcm_open(iv, data, kRtcpHeader, trailer, kSrtcpIndexSize, payload, body, tag)
            // RFC 7714 §9.3: the whole packet is AAD.
            : t.gcm_open(iv, data, kRtcpHeader + body, trailer, kSrtcpIndexSize, nullptr, 0, tag);
    if (!ok) return packet_error("SRTCP auth fail");
  } else {
    const uint8_t* tag = trailer + kSrtcpIndexSize;
    uint8_t expected[SHA_DIGEST_LENGTH];
    t.hmac(data, trailer_at + kSrtcpIndexSize, nullptr, 0, expected);
    if (CRYPTO_memcmp(expected, tag, t.tag_length) != 0) return packet_error("SRTCP auth fail");
    uint8_t iv[16];
    srtp_cm_iv(t.salt, ssrc, index, iv);
    if (!t.ctr_xor(iv, payload, trailer_at - kRtcpHeader)) return packet_error("SRTCP cipher");
  }
  if (stream == nullptr) stream = s.add(ssrc);
  stream->rtcp_in.add(index);
  len -= kSrtcpIndexSize + t.tag_length;
  return {};
}

}  // namespace lss
