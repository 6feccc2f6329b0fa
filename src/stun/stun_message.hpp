#pragma once
// STUN messages (RFC 8489) as ICE uses them: a zero-copy parser whose
// attribute values point into the input, integrity and fingerprint checks,
// and a builder for requests and responses.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/socket_address.hpp"

namespace lss {

namespace stun {
constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr uint16_t kMethodBinding = 0x001;
constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingSuccess = 0x0101;
constexpr uint16_t kBindingError = 0x0111;
constexpr uint16_t kBindingIndication = 0x0011;

constexpr uint16_t kAttrMappedAddress = 0x0001;
constexpr uint16_t kAttrUsername = 0x0006;
constexpr uint16_t kAttrMessageIntegrity = 0x0008;
constexpr uint16_t kAttrErrorCode = 0x0009;
constexpr uint16_t kAttrUnknownAttributes = 0x000A;
constexpr uint16_t kAttrXorMappedAddress = 0x0020;
constexpr uint16_t kAttrPriority = 0x0024;
constexpr uint16_t kAttrUseCandidate = 0x0025;
constexpr uint16_t kAttrSoftware = 0x8022;
constexpr uint16_t kAttrFingerprint = 0x8028;
constexpr uint16_t kAttrIceControlled = 0x8029;
constexpr uint16_t kAttrIceControlling = 0x802A;
constexpr uint16_t kAttrGoogNetworkInfo = 0xC057;

constexpr size_t kHeaderSize = 20;
constexpr size_t kMessageIntegritySize = 24;  // attribute header + HMAC-SHA1
constexpr size_t kFingerprintSize = 8;        // attribute header + CRC-32
// Real checks carry under ten attributes (Chrome: USERNAME, GOOG-NETWORK-INFO,
// ICE-CONTROLLING, USE-CANDIDATE, PRIORITY, MESSAGE-INTEGRITY, FINGERPRINT);
// the bound keeps the parsed form on the stack.
constexpr size_t kMaxAttributes = 32;
}  // namespace stun

enum class StunClass : uint8_t { kRequest = 0, kIndication = 1, kSuccess = 2, kError = 3 };

using TransactionId = std::array<uint8_t, 12>;

// RFC 7983 demultiplexing plus the RFC 8489 header invariants: first byte
// 0..3, magic cookie, length a multiple of 4 that matches the datagram.
bool looks_like_stun(ByteSpan data);

// CRC-32 (IEEE 802.3), as STUN's FINGERPRINT uses it.
uint32_t crc32(ByteSpan data);

struct StunAttribute {
  uint16_t type = 0;
  ByteSpan value;     // points into the parsed buffer, padding excluded
  size_t offset = 0;  // of the attribute header within the message
};

// A parsed message. It holds spans into the buffer given to parse(): that
// buffer must outlive the StunMessage and everything read from it
// (attributes(), username(), ...). Parsing does not allocate.
class StunMessage {
 public:
  // Checks the header, the length field against the datagram, every
  // attribute's bounds, and the RFC 8489 ordering: attributes after
  // MESSAGE-INTEGRITY other than FINGERPRINT are skipped (they are not
  // covered by the HMAC, §14.5), and nothing may follow FINGERPRINT.
  static Result<StunMessage> parse(ByteSpan data);

  uint16_t type() const { return type_; }
  uint16_t method() const;  // the 12-bit method, class bits removed
  StunClass message_class() const;
  const TransactionId& transaction_id() const { return txid_; }
  ByteSpan raw() const { return raw_; }
  std::span<const StunAttribute> attributes() const { return {attrs_.data(), count_}; }
  // The first attribute of `type` (RFC 8489: later duplicates are ignored).
  const StunAttribute* find(uint16_t type) const;

  std::optional<std::string_view> username() const;
  bool has_use_candidate() const { return find(stun::kAttrUseCandidate) != nullptr; }
  std::optional<uint32_t> priority() const;
  // The 64-bit tie-breakers; has_* only says the attribute is present.
  std::optional<uint64_t> ice_controlling() const;
  std::optional<uint64_t> ice_controlled() const;
  bool has_ice_controlling() const { return find(stun::kAttrIceControlling) != nullptr; }
  bool has_ice_controlled() const { return find(stun::kAttrIceControlled) != nullptr; }
  std::optional<SocketAddress> xor_mapped_address() const;
  std::optional<int> error_code() const;  // 300..699
  std::optional<std::string_view> error_reason() const;
  bool has_message_integrity() const { return find(stun::kAttrMessageIntegrity) != nullptr; }
  bool has_fingerprint() const { return find(stun::kAttrFingerprint) != nullptr; }

  // MESSAGE-INTEGRITY (HMAC-SHA1 with the short-term key, i.e. the ICE
  // password) and FINGERPRINT checks over the raw bytes this message was
  // parsed from. Both are false when the attribute is absent.
  bool verify_message_integrity(std::string_view key) const;
  bool verify_fingerprint() const;

 private:
  ByteSpan raw_;
  uint16_t type_ = 0;
  TransactionId txid_{};
  size_t count_ = 0;
  std::array<StunAttribute, stun::kMaxAttributes> attrs_{};
};

// Parse-and-verify shorthands over a whole datagram; false when it does not
// parse or the attribute is missing.
bool verify_message_integrity(ByteSpan raw, std::string_view key);
bool verify_fingerprint(ByteSpan raw);

// Builds one message. Attributes are appended in call order; finish() adds
// MESSAGE-INTEGRITY (when a key is given) and FINGERPRINT last, as RFC 8489
// orders them. Control path only: it allocates the output buffer.
class StunBuilder {
 public:
  StunBuilder(uint16_t type, const TransactionId& txid);
  StunBuilder& add(uint16_t type, ByteSpan value);
  StunBuilder& add_flag(uint16_t type) { return add(type, {}); }  // e.g. USE-CANDIDATE
  StunBuilder& add_string(uint16_t type, std::string_view value);
  StunBuilder& add_u32(uint16_t type, uint32_t value);
  StunBuilder& add_u64(uint16_t type, uint64_t value);
  // XORed with the magic cookie (and, for IPv6, this message's transaction id).
  StunBuilder& add_xor_mapped_address(const SocketAddress& address);
  // ERROR-CODE: `code` in 300..699 (e.g. 400, 401, 487); others become 500.
  StunBuilder& add_error_code(int code, std::string_view reason);
  // Returns the finished message; empty when the attributes would not fit
  // STUN's 16-bit length field.
  Bytes finish(std::string_view integrity_key, bool fingerprint = true);

 private:
  void append(uint16_t type, ByteSpan value);
  void set_length(size_t body);
  Bytes out_;
  TransactionId txid_;
  bool overflow_ = false;
};

// The recipient's ufrag from USERNAME "<recipient ufrag>:<sender ufrag>" of a
// Binding request, cheaply and without full validation, for routing a
// datagram to its peer. The view points into `datagram`. nullopt for
// anything else.
std::optional<std::string_view> stun_local_ufrag(ByteSpan datagram);

// The class of a datagram that looks like STUN (RFC 8489 §5), from its
// header alone; nullopt for anything else.
std::optional<StunClass> stun_message_class(ByteSpan datagram);

}  // namespace lss
