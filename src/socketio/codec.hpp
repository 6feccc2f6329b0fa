#pragma once
// Engine.IO v4 polling payloads and Socket.IO v5 packets (what socket.io 4.x
// and socket.io-client 4.x speak), as pure functions.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lss::socketio {

// Engine.IO packet types.
enum EioType : char {
  kOpen = '0',
  kClose = '1',
  kPing = '2',
  kPong = '3',
  kMessage = '4',
  kUpgrade = '5',
  kNoop = '6'
};
// Socket.IO packet types.
enum SioType {
  kConnect = 0,
  kDisconnect = 1,
  kEvent = 2,
  kAck = 3,
  kConnectError = 4,
  kBinaryEvent = 5,
  kBinaryAck = 6
};

// A polling body: packets separated by the record separator 0x1e.
std::vector<std::string_view> split_payload(std::string_view body);
std::string join_payload(const std::vector<std::string>& packets);

struct Packet {
  int type = kEvent;
  std::string nsp = "/";
  std::optional<uint64_t> ack_id;
  std::string json;  // the payload as JSON text (may be empty)
};

// Parses the Socket.IO packet inside an Engine.IO message (without the '4').
Result<Packet> parse_packet(std::string_view text);
// Encodes a Socket.IO packet as an Engine.IO message ("4...").
std::string encode_message(const Packet& p);

}  // namespace lss::socketio
