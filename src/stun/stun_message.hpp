#pragma once
// STUN messages (RFC 8489) as ICE uses them: a zero-copy parser whose
// attribute values point into the input, integrity and fingerprint checks,
// and a builder for requests and responses.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/socket_address.hpp"

namespace lss {

namespace stun {
constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingSuccess = 0x0101;
constexpr uint16_t kBindingError = 0x0111;
constexpr uint16_t kBindingIndication = 0x0011;

constexpr uint16_t kAttrMappedAddress = 0x0001;
constexpr uint16_t kAttrUsername = 0x0006;
constexpr uint16_t kAttrMessageIntegrity = 0x0008;
constexpr uint16_t kAttrErrorCode = 0x0009;
constexpr uint16_t kAttrXorMappedAddress = 0x0020;
constexpr uint16_t kAttrPriority = 0x0024;
constexpr uint16_t kAttrUseCandidate = 0x0025;
constexpr uint16_t kAttrSoftware = 0x8022;
constexpr uint16_t kAttrFingerprint = 0x8028;
constexpr uint16_t kAttrIceControlled = 0x8029;
constexpr uint16_t kAttrIceControlling = 0x802A;

constexpr size_t kHeaderSize = 20;
constexpr size_t kMaxAttributes = 64;
}  // namespace stun

using TransactionId = std::array<uint8_t, 12>;

// RFC 7983: first byte 0..3, RFC 8489 magic cookie, length multiple of 4.
bool looks_like_stun(ByteSpan data);

// CRC-32 (IEEE 802.3), as STUN's FINGERPRINT uses it.
uint32_t crc32(ByteSpan data);

struct StunAttribute {
  uint16_t type;
  ByteSpan value;
  size_t offset;  // of the attribute header within the message
};

// A parsed message; attribute values point into the parsed buffer, which must
// outlive the StunMessage.
class StunMessage {
 public:
  static Result<StunMessage> parse(ByteSpan data);

  uint16_t type() const { return type_; }
  uint16_t method() const { return type_ & 0x3EEF; }
  const TransactionId& transaction_id() const { return txid_; }
  const std::vector<StunAttribute>& attributes() const { return attrs_; }
  const StunAttribute* find(uint16_t type) const;

  std::optional<std::string_view> username() const;
  bool has_use_candidate() const { return find(stun::kAttrUseCandidate) != nullptr; }
  std::optional<uint32_t> priority() const;
  bool has_ice_controlling() const { return find(stun::kAttrIceControlling) != nullptr; }
  bool has_ice_controlled() const { return find(stun::kAttrIceControlled) != nullptr; }
  std::optional<SocketAddress> xor_mapped_address() const;
  std::optional<int> error_code() const;

  // MESSAGE-INTEGRITY (HMAC-SHA1, short-term key) and FINGERPRINT checks over
  // the raw bytes this message was parsed from.
  bool verify_message_integrity(std::string_view key) const;
  bool verify_fingerprint() const;

 private:
  ByteSpan raw_;
  uint16_t type_ = 0;
  TransactionId txid_{};
  std::vector<StunAttribute> attrs_;
};

// Builds one message. Attributes are appended in call order; finish() adds
// MESSAGE-INTEGRITY (when a key is given) and FINGERPRINT last, as RFC 8489 orders them.
class StunBuilder {
 public:
  StunBuilder(uint16_t type, const TransactionId& txid);
  StunBuilder& add(uint16_t type, ByteSpan value);
  StunBuilder& add_string(uint16_t type, std::string_view value);
  StunBuilder& add_u32(uint16_t type, uint32_t value);
  StunBuilder& add_u64(uint16_t type, uint64_t value);
  StunBuilder& add_xor_mapped_address(const SocketAddress& address);
  StunBuilder& add_error_code(int code, std::string_view reason);
  Bytes finish(std::string_view integrity_key, bool fingerprint = true);

 private:
  void set_length(size_t body);
  Bytes out_;
  TransactionId txid_;
};

// The recipient's ufrag from USERNAME "<recipient ufrag>:<sender ufrag>" of a
// Binding request, cheaply, for routing a datagram to its peer before full
// validation. nullopt for anything else.
std::optional<std::string_view> stun_local_ufrag(ByteSpan datagram);

}  // namespace lss
