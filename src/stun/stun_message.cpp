#include "stun/stun_message.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

namespace lss {

namespace {
constexpr size_t pad4(size_t n) {
  return (n + 3) & ~size_t(3);
}

struct CrcTable {
  uint32_t v[256];
  constexpr CrcTable() : v() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      v[i] = c;
    }
  }
};
constexpr CrcTable kCrc;

// Fetching an algorithm is a locked registry lookup in OpenSSL 3; do it once.
// The EVP_MAC is immutable and safe to share between threads.
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// HMAC-SHA1 over the concatenation of `parts`, so the verifier can feed the
// length-adjusted header and the rest of the message without copying them.
bool hmac_sha1(std::string_view key, std::initializer_list<ByteSpan> parts, uint8_t out[20]) {
  // An empty key would make EVP_MAC_init reuse a previous one; ICE passwords
  // are never empty (RFC 8839: at least 22 characters).
  if (key.empty()) return false;
  EVP_MAC* mac = hmac_algorithm();
  if (mac == nullptr) return false;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  if (ctx == nullptr) return false;
  char digest[] = "SHA1";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  bool ok = EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                         params) == 1;
  for (ByteSpan p : parts) ok = ok && EVP_MAC_update(ctx, p.data(), p.size()) == 1;
  size_t len = 0;
  ok = ok && EVP_MAC_final(ctx, out, &len, 20) == 1 && len == 20;
  EVP_MAC_CTX_free(ctx);
  return ok;
}
}  // namespace

uint32_t crc32(ByteSpan data) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : data) c = kCrc.v[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

bool looks_like_stun(ByteSpan d) {
  return d.size() >= stun::kHeaderSize && d[0] <= 3 &&
         load_be32(d.data() + 4) == stun::kMagicCookie && (load_be16(d.data() + 2) & 3) == 0 &&
         size_t(load_be16(d.data() + 2)) + stun::kHeaderSize == d.size();
}

Result<StunMessage> StunMessage::parse(ByteSpan data) {
  if (data.size() < stun::kHeaderSize) return make_error("STUN message shorter than its header");
  if (data[0] & 0xC0) return make_error("not a STUN message (top bits set)");
  if (load_be32(data.data() + 4) != stun::kMagicCookie) {
    return make_error("missing STUN magic cookie");
  }
  const size_t length = load_be16(data.data() + 2);
  if (length % 4 != 0 || length + stun::kHeaderSize != data.size()) {
    return make_error("STUN length field does not match the datagram");
  }
  StunMessage m;
  m.raw_ = data;
  m.type_ = load_be16(data.data());
  std::memcpy(m.txid_.data(), data.data() + 8, 12);
  bool after_integrity = false;
  bool after_fingerprint = false;
  size_t pos = stun::kHeaderSize;
  // `pos` stays a multiple of 4 and the size is one too, so a value that
  // fits also has room for its padding.
  while (pos < data.size()) {
    if (data.size() - pos < 4) return make_error("truncated STUN attribute header");
    const uint16_t type = load_be16(data.data() + pos);
    const size_t len = load_be16(data.data() + pos + 2);
    if (data.size() - pos - 4 < len) return make_error("STUN attribute runs past the message");
    if (after_fingerprint) return make_error("STUN attribute after FINGERPRINT");
    // RFC 8489 §14.5: only FINGERPRINT may follow MESSAGE-INTEGRITY; anything
    // else there is unauthenticated and must be ignored, not trusted.
    if (!after_integrity || type == stun::kAttrFingerprint) {
      if (m.count_ == stun::kMaxAttributes) return make_error("too many STUN attributes");
      m.attrs_[m.count_++] = {type, data.subspan(pos + 4, len), pos};
      after_integrity = after_integrity || type == stun::kAttrMessageIntegrity;
      after_fingerprint = type == stun::kAttrFingerprint;
    }
    pos += 4 + pad4(len);
  }
  return m;
}

uint16_t StunMessage::method() const {
  return uint16_t((type_ & 0x000F) | ((type_ & 0x00E0) >> 1) | ((type_ & 0x3E00) >> 2));
}

namespace {
// The two class bits, C0 (bit 4) and C1 (bit 8), of a message type.
StunClass class_of(uint16_t type) {
  return StunClass(((type >> 4) & 1) | ((type >> 7) & 2));
}
}  // namespace

StunClass StunMessage::message_class() const {
  return class_of(type_);
}

const StunAttribute* StunMessage::find(uint16_t type) const {
  for (size_t i = 0; i < count_; ++i) {
    if (attrs_[i].type == type) return &attrs_[i];
  }
  return nullptr;
}

std::optional<std::string_view> StunMessage::username() const {
  const auto* a = find(stun::kAttrUsername);
  if (!a) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(a->value.data()), a->value.size());
}

std::optional<uint32_t> StunMessage::priority() const {
  const auto* a = find(stun::kAttrPriority);
  if (!a || a->value.size() != 4) return std::nullopt;
  return load_be32(a->value.data());
}

std::optional<uint64_t> StunMessage::ice_controlling() const {
  const auto* a = find(stun::kAttrIceControlling);
  if (!a || a->value.size() != 8) return std::nullopt;
  return load_be64(a->value.data());
}

std::optional<uint64_t> StunMessage::ice_controlled() const {
  const auto* a = find(stun::kAttrIceControlled);
  if (!a || a->value.size() != 8) return std::nullopt;
  return load_be64(a->value.data());
}

std::optional<SocketAddress> StunMessage::xor_mapped_address() const {
  const auto* a = find(stun::kAttrXorMappedAddress);
  if (!a || a->value.size() < 8) return std::nullopt;
  const uint8_t* v = a->value.data();
  SocketAddress addr;
  addr.port = load_be16(v + 2) ^ uint16_t(stun::kMagicCookie >> 16);
  if (v[1] == 0x01 && a->value.size() == 8) {
    addr.family = SocketAddress::Family::kIPv4;
    store_be32(addr.ip.data(), load_be32(v + 4) ^ stun::kMagicCookie);
    return addr;
  }
  if (v[1] == 0x02 && a->value.size() == 20) {
    addr.family = SocketAddress::Family::kIPv6;
    uint8_t mask[16];
    store_be32(mask, stun::kMagicCookie);
    std::memcpy(mask + 4, txid_.data(), 12);
    for (int i = 0; i < 16; ++i) addr.ip[i] = v[4 + i] ^ mask[i];
    return addr;
  }
  return std::nullopt;
}

std::optional<int> StunMessage::error_code() const {
  const auto* a = find(stun::kAttrErrorCode);
  if (!a || a->value.size() < 4) return std::nullopt;
  const int cls = a->value[2] & 0x07;
  const int number = a->value[3];
  if (cls < 3 || cls > 6 || number > 99) return std::nullopt;
  return cls * 100 + number;
}

std::optional<std::string_view> StunMessage::error_reason() const {
  const auto* a = find(stun::kAttrErrorCode);
  if (!a || a->value.size() < 4) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(a->value.data()) + 4, a->value.size() - 4);
}

bool StunMessage::verify_message_integrity(std::string_view key) const {
  const auto* mi = find(stun::kAttrMessageIntegrity);
  if (!mi || mi->value.size() != 20) return false;
  // HMAC over the message up to MESSAGE-INTEGRITY, with the header's length
  // rewritten to end just after it (RFC 8489 §14.5): a FINGERPRINT that
  // follows was not there yet when the sender computed the HMAC.
  uint8_t header[stun::kHeaderSize];
  std::memcpy(header, raw_.data(), stun::kHeaderSize);
  store_be16(header + 2, uint16_t(mi->offset + stun::kMessageIntegritySize - stun::kHeaderSize));
  const ByteSpan body = raw_.subspan(stun::kHeaderSize, mi->offset - stun::kHeaderSize);
  uint8_t mac[20];
  if (!hmac_sha1(key, {ByteSpan(header, sizeof header), body}, mac)) return false;
  return CRYPTO_memcmp(mac, mi->value.data(), 20) == 0;
}

bool StunMessage::verify_fingerprint() const {
  if (count_ == 0) return false;
  // parse() rejects anything after FINGERPRINT, so it is last when present.
  const auto& last = attrs_[count_ - 1];
  if (last.type != stun::kAttrFingerprint || last.value.size() != 4) return false;
  const uint32_t expected = crc32(raw_.subspan(0, last.offset)) ^ stun::kFingerprintXor;
  return load_be32(last.value.data()) == expected;
}

bool verify_message_integrity(ByteSpan raw, std::string_view key) {
  auto m = StunMessage::parse(raw);
  return m.ok() && m->verify_message_integrity(key);
}

bool verify_fingerprint(ByteSpan raw) {
  auto m = StunMessage::parse(raw);
  return m.ok() && m->verify_fingerprint();
}

StunBuilder::StunBuilder(uint16_t type, const TransactionId& txid) : txid_(txid) {
  out_.reserve(128);
  ByteWriter w(out_);
  w.u16(type & 0x3FFF);
  w.u16(0);
  w.u32(stun::kMagicCookie);
  w.bytes(ByteSpan(txid.data(), txid.size()));
}

StunBuilder& StunBuilder::add(uint16_t type, ByteSpan value) {
  // The header's 16-bit length must still cover MESSAGE-INTEGRITY and
  // FINGERPRINT once finish() adds them.
  constexpr size_t kMaxBody = 0xFFFC - stun::kMessageIntegritySize - stun::kFingerprintSize;
  if (overflow_ || out_.size() - stun::kHeaderSize + 4 + pad4(value.size()) > kMaxBody) {
    overflow_ = true;
    return *this;
  }
  append(type, value);
  return *this;
}

void StunBuilder::append(uint16_t type, ByteSpan value) {
  ByteWriter w(out_);
  w.u16(type);
  w.u16(uint16_t(value.size()));
  w.bytes(value);
  w.zeros(pad4(value.size()) - value.size());
}

StunBuilder& StunBuilder::add_string(uint16_t type, std::string_view v) {
  return add(type, ByteSpan(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
}

StunBuilder& StunBuilder::add_u32(uint16_t type, uint32_t v) {
  uint8_t b[4];
  store_be32(b, v);
  return add(type, b);
}

StunBuilder& StunBuilder::add_u64(uint16_t type, uint64_t v) {
  uint8_t b[8];
  store_be64(b, v);
  return add(type, b);
}

StunBuilder& StunBuilder::add_xor_mapped_address(const SocketAddress& a) {
  uint8_t v[20] = {};
  v[1] = a.is_ipv4() ? 0x01 : 0x02;
  store_be16(v + 2, a.port ^ uint16_t(stun::kMagicCookie >> 16));
  if (a.is_ipv4()) {
    store_be32(v + 4, load_be32(a.ip.data()) ^ stun::kMagicCookie);
    return add(stun::kAttrXorMappedAddress, ByteSpan(v, 8));
  }
  uint8_t mask[16];
  store_be32(mask, stun::kMagicCookie);
  std::memcpy(mask + 4, txid_.data(), 12);
  for (int i = 0; i < 16; ++i) v[4 + i] = a.ip[i] ^ mask[i];
  return add(stun::kAttrXorMappedAddress, ByteSpan(v, 20));
}

StunBuilder& StunBuilder::add_error_code(int code, std::string_view reason) {
  if (code < 300 || code > 699) code = 500;
  // RFC 8489 §14.8: the reason phrase is under 128 characters.
  reason = reason.substr(0, 127);
  uint8_t v[4 + 127];
  store_be16(v, 0);
  v[2] = uint8_t(code / 100);
  v[3] = uint8_t(code % 100);
  std::copy(reason.begin(), reason.end(), v + 4);
  return add(stun::kAttrErrorCode, ByteSpan(v, 4 + reason.size()));
}

void StunBuilder::set_length(size_t body) {
  store_be16(out_.data() + 2, uint16_t(body));
}

Bytes StunBuilder::finish(std::string_view key, bool fingerprint) {
  if (overflow_) return {};
  // RFC 8489 §14.5/§14.7: each trailer is computed with the length field
  // already counting that trailer, but not what comes after it.
  if (!key.empty()) {
    set_length(out_.size() + stun::kMessageIntegritySize - stun::kHeaderSize);
    uint8_t mac[20];
    if (!hmac_sha1(key, {ByteSpan(out_)}, mac)) return {};
    append(stun::kAttrMessageIntegrity, ByteSpan(mac, 20));
  }
  if (fingerprint) {
    set_length(out_.size() + stun::kFingerprintSize - stun::kHeaderSize);
    uint8_t crc[4];
    store_be32(crc, crc32(out_) ^ stun::kFingerprintXor);
    append(stun::kAttrFingerprint, crc);
  }
  set_length(out_.size() - stun::kHeaderSize);
  return std::move(out_);
}

std::optional<StunClass> stun_message_class(ByteSpan d) {
  if (!looks_like_stun(d)) return std::nullopt;
  return class_of(load_be16(d.data()));
}

std::optional<std::string_view> stun_local_ufrag(ByteSpan d) {
  if (!looks_like_stun(d) || load_be16(d.data()) != stun::kBindingRequest) return std::nullopt;
  size_t pos = stun::kHeaderSize;
  while (d.size() - pos >= 4) {
    const uint16_t type = load_be16(d.data() + pos);
    const size_t len = load_be16(d.data() + pos + 2);
    if (d.size() - pos - 4 < len) return std::nullopt;
    // A USERNAME after MESSAGE-INTEGRITY would be ignored by the full parse.
    if (type == stun::kAttrMessageIntegrity) return std::nullopt;
    if (type == stun::kAttrUsername) {
      std::string_view u(reinterpret_cast<const char*>(d.data() + pos + 4), len);
      const size_t colon = u.find(':');
      if (colon == std::string_view::npos || colon == 0) return std::nullopt;
      return u.substr(0, colon);
    }
    pos += 4 + pad4(len);
  }
  return std::nullopt;
}

}  // namespace lss
