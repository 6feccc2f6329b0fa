#pragma once
// The Data Channel Establishment Protocol (RFC 8832) and the payload protocol
// identifiers WebRTC data channels use on SCTP (RFC 8831 §8). DCEP messages
// come from the remote browser, so parsing is bounds-checked and strict: a
// message whose length fields disagree with its size is rejected as a whole.
#include <cstdint>
#include <string>
#include <variant>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace lss::sctp {

// SCTP payload protocol identifiers (RFC 8831 §8, RFC 8832 §8.1).
enum class Ppid : uint32_t {
  kDcep = 50,
  kString = 51,
  kBinaryPartial = 52,  // deprecated, never sent
  kBinary = 53,
  kStringPartial = 54,  // deprecated, never sent
  kStringEmpty = 56,
  kBinaryEmpty = 57,
};

// What we announce in SDP (a=max-message-size) and enforce both ways.
inline constexpr size_t kMaxMessageSize = 262144;

enum class DcepMessageType : uint8_t {
  kAck = 0x02,
  kOpen = 0x03,
};

// RFC 8832 §5.1: the high bit selects unordered delivery, the low bits the
// partial-reliability policy.
enum class ChannelType : uint8_t {
  kReliable = 0x00,
  kReliableUnordered = 0x80,
  kPartialReliableRexmit = 0x01,
  kPartialReliableRexmitUnordered = 0x81,
  kPartialReliableTimed = 0x02,
  kPartialReliableTimedUnordered = 0x82,
};

inline bool is_unordered(ChannelType t) {
  return (uint8_t(t) & 0x80) != 0;
}
bool is_valid_channel_type(uint8_t t);

// RFC 8832 §5.1 DATA_CHANNEL_OPEN. reliability_parameter is the maximum
// number of retransmissions (Rexmit) or the lifetime in ms (Timed); it is
// ignored for the reliable types.
struct DataChannelOpen {
  ChannelType channel_type = ChannelType::kReliable;
  uint16_t priority = 256;  // "normal" (RFC 8831 §6.4 / W3C RTCPriorityType)
  uint32_t reliability_parameter = 0;
  std::string label;
  std::string protocol;

  bool operator==(const DataChannelOpen&) const = default;
};

// RFC 8832 §5.2 DATA_CHANNEL_ACK: the message type alone.
struct DataChannelAck {
  bool operator==(const DataChannelAck&) const = default;
};

using DcepMessage = std::variant<DataChannelOpen, DataChannelAck>;

// Parses one DCEP message (the whole payload of a PPID 50 SCTP message).
Result<DcepMessage> parse_dcep(ByteSpan data);

// Fails only when the label or protocol does not fit its 16-bit length.
Result<Bytes> build_data_channel_open(const DataChannelOpen& open);
Bytes build_data_channel_ack();

}  // namespace lss::sctp
