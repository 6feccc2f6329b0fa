#include "stun/stun_message.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

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

bool hmac_sha1(std::string_view key, ByteSpan data, uint8_t out[20]) {
  unsigned int len = 20;
  return HMAC(EVP_sha1(), key.data(), int(key.size()), data.data(), data.size(), out, &len) !=
         nullptr;
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
         size_t(load_be16(d.data() + 2)) + 20 == d.size();
}

Result<StunMessage> StunMessage::parse(ByteSpan data) {
  if (data.size() < stun::kHeaderSize) return make_error("STUN message shorter than its header");
  if (data[0] & 0xC0) return make_error("not a STUN message (top bits set)");
  const size_t length = load_be16(data.data() + 2);
  if (load_be32(data.data() + 4) != stun::kMagicCookie)
    return make_error("missing STUN magic cookie");
  if (length % 4 != 0 || length + stun::kHeaderSize != data.size()) {
    return make_error("STUN length field does not match the datagram");
  }
  StunMessage m;
  m.raw_ = data;
  m.type_ = load_be16(data.data());
  std::memcpy(m.txid_.data(), data.data() + 8, 12);
  size_t pos = stun::kHeaderSize;
  while (pos < data.size()) {
    if (data.size() - pos < 4) return make_error("truncated STUN attribute header");
    const uint16_t type = load_be16(data.data() + pos);
    const size_t len = load_be16(data.data() + pos + 2);
    if (data.size() - pos - 4 < len) return make_error("STUN attribute runs past the message");
    if (m.attrs_.size() >= stun::kMaxAttributes) return make_error("too many STUN attributes");
    m.attrs_.push_back({type, data.subspan(pos + 4, len), pos});
    pos += 4 + pad4(len);
    if (pos > data.size()) return make_error("STUN attribute padding runs past the message");
  }
  return m;
}

const StunAttribute* StunMessage::find(uint16_t type) const {
  for (const auto& a : attrs_) {
    if (a.type == type) return &a;
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
  return (a->value[2] & 0x07) * 100 + a->value[3];
}

bool StunMessage::verify_message_integrity(std::string_view key) const {
  const auto* mi = find(stun::kAttrMessageIntegrity);
  if (!mi || mi->value.size() != 20) return false;
  // HMAC over the message up to MESSAGE-INTEGRITY, with the length field
  // rewritten to end just after it (RFC 8489 §14.5).
  uint8_t header[stun::kHeaderSize];
  std::memcpy(header, raw_.data(), stun::kHeaderSize);
  store_be16(header + 2, uint16_t(mi->offset + 24 - stun::kHeaderSize));
  Bytes buf(raw_.begin(), raw_.begin() + ptrdiff_t(mi->offset));
  std::memcpy(buf.data(), header, stun::kHeaderSize);
  uint8_t mac[20];
  if (!hmac_sha1(key, buf, mac)) return false;
  return CRYPTO_memcmp(mac, mi->value.data(), 20) == 0;
}

bool StunMessage::verify_fingerprint() const {
  if (attrs_.empty()) return false;
  const auto& last = attrs_.back();
  if (last.type != stun::kAttrFingerprint || last.value.size() != 4) return false;
  const uint32_t expected = crc32(raw_.subspan(0, last.offset)) ^ stun::kFingerprintXor;
  return load_be32(last.value.data()) == expected;
}

StunBuilder::StunBuilder(uint16_t type, const TransactionId& txid) : txid_(txid) {
  out_.reserve(128);
  ByteWriter w(out_);
  w.u16(type);
  w.u16(0);
  w.u32(stun::kMagicCookie);
  w.bytes(ByteSpan(txid.data(), txid.size()));
}

StunBuilder& StunBuilder::add(uint16_t type, ByteSpan value) {
  ByteWriter w(out_);
  w.u16(type);
  w.u16(uint16_t(value.size()));
  w.bytes(value);
  w.zeros(pad4(value.size()) - value.size());
  return *this;
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
  Bytes v;
  ByteWriter w(v);
  w.u16(0);
  w.u8(uint8_t(code / 100));
  w.u8(uint8_t(code % 100));
  w.bytes(reason);
  return add(stun::kAttrErrorCode, v);
}

void StunBuilder::set_length(size_t body) {
  store_be16(out_.data() + 2, uint16_t(body));
}

Bytes StunBuilder::finish(std::string_view key, bool fingerprint) {
  if (!key.empty()) {
    set_length(out_.size() + 24 - stun::kHeaderSize);
    uint8_t mac[20];
    hmac_sha1(key, out_, mac);
    add(stun::kAttrMessageIntegrity, ByteSpan(mac, 20));
  }
  if (fingerprint) {
    set_length(out_.size() + 8 - stun::kHeaderSize);
    add_u32(stun::kAttrFingerprint, crc32(out_) ^ stun::kFingerprintXor);
  }
  set_length(out_.size() - stun::kHeaderSize);
  return std::move(out_);
}

std::optional<std::string_view> stun_local_ufrag(ByteSpan d) {
  if (!looks_like_stun(d) || load_be16(d.data()) != stun::kBindingRequest) return std::nullopt;
  size_t pos = stun::kHeaderSize;
  while (d.size() - pos >= 4) {
    const uint16_t type = load_be16(d.data() + pos);
    const size_t len = load_be16(d.data() + pos + 2);
    if (d.size() - pos - 4 < len) return std::nullopt;
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
