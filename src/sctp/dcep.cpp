#include "sctp/dcep.hpp"

#include <limits>

namespace lss::sctp {
namespace {

// Type, channel type, priority, reliability, label length, protocol length.
constexpr size_t kOpenHeaderSize = 1 + 1 + 2 + 4 + 2 + 2;

}  // namespace

bool is_valid_channel_type(uint8_t t) {
  switch (ChannelType(t)) {
    case ChannelType::kReliable:
    case ChannelType::kReliableUnordered:
    case ChannelType::kPartialReliableRexmit:
    case ChannelType::kPartialReliableRexmitUnordered:
    case ChannelType::kPartialReliableTimed:
    case ChannelType::kPartialReliableTimedUnordered:
      return true;
  }
  return false;
}

Result<DcepMessage> parse_dcep(ByteSpan data) {
  ByteReader r(data);
  const uint8_t type = r.u8();
  if (!r.ok()) return make_error("dcep: empty message");

  if (type == uint8_t(DcepMessageType::kAck)) {
    // The ACK has no body; anything after the type byte means the peer and we
    // disagree about the format, which is safer to reject than to guess.
    if (!r.empty()) return make_error("dcep: DATA_CHANNEL_ACK with trailing bytes");
    return DcepMessage{DataChannelAck{}};
  }
  if (type != uint8_t(DcepMessageType::kOpen)) {
    return make_error("dcep: unknown message type " + std::to_string(type));
  }

  DataChannelOpen open;
  const uint8_t channel_type = r.u8();
  open.priority = r.u16();
  open.reliability_parameter = r.u32();
  const uint16_t label_length = r.u16();
  const uint16_t protocol_length = r.u16();
  if (!r.ok()) return make_error("dcep: truncated DATA_CHANNEL_OPEN header");
  if (!is_valid_channel_type(channel_type)) {
    return make_error("dcep: unknown channel type " + std::to_string(channel_type));
  }
  open.channel_type = ChannelType(channel_type);
  if (r.remaining() != size_t(label_length) + protocol_length) {
    return make_error("dcep: DATA_CHANNEL_OPEN label/protocol lengths disagree with its size");
  }
  const ByteSpan label = r.bytes(label_length);
  const ByteSpan protocol = r.bytes(protocol_length);
  if (!r.ok()) return make_error("dcep: truncated DATA_CHANNEL_OPEN");
  open.label.assign(label.begin(), label.end());
  open.protocol.assign(protocol.begin(), protocol.end());
  return DcepMessage{std::move(open)};
}

Result<Bytes> build_data_channel_open(const DataChannelOpen& open) {
  constexpr size_t kMax = std::numeric_limits<uint16_t>::max();
  if (open.label.size() > kMax) return make_error("dcep: label longer than 65535 bytes");
  if (open.protocol.size() > kMax) return make_error("dcep: protocol longer than 65535 bytes");
  Bytes out;
  out.reserve(kOpenHeaderSize + open.label.size() + open.protocol.size());
  ByteWriter w(out);
  w.u8(uint8_t(DcepMessageType::kOpen));
  w.u8(uint8_t(open.channel_type));
  w.u16(open.priority);
  w.u32(open.reliability_parameter);
  w.u16(uint16_t(open.label.size()));
  w.u16(uint16_t(open.protocol.size()));
  w.bytes(std::string_view(open.label));
  w.bytes(std::string_view(open.protocol));
  return out;
}

Bytes build_data_channel_ack() {
  return Bytes{uint8_t(DcepMessageType::kAck)};
}

}  // namespace lss::sctp
