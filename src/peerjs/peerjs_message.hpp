#pragma once
// The PeerJS signalling protocol as the npm `peer` server (1.x) relays it
// and the `peerjs` client (1.5) speaks it: one JSON object per WebSocket
// text frame, {type, src, dst, payload}. Sans-I/O: parsing, building and the
// socket URL; the connection lives in signal/peerjs_client.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lss::peerjs {

// Frames above this are refused: an SDP is bounded to 64 KiB (sdp module),
// so anything much larger is not a PeerJS message we need.
constexpr size_t kMaxMessageBytes = 128 * 1024;

enum class Type {
  kOpen,        // registration accepted
  kError,       // fatal server error (payload.msg)
  kIdTaken,     // another token holds our id
  kInvalidKey,  // wrong PEER_KEY (old cloud servers)
  kLeave,       // src went away
  kExpire,      // a message we sent to src could not be delivered
  kOffer,
  kAnswer,
  kCandidate,
  kHeartbeat,
  kUnknown,  // anything else: ignored, as the peerjs client does
};

struct Message {
  Type type = Type::kUnknown;
  std::string type_name;  // as received
  std::string src, dst;
  // OFFER / ANSWER / CANDIDATE
  std::string connection_id;    // payload.connectionId
  std::string connection_type;  // payload.type: "media" or "data"
  std::string sdp;              // payload.sdp.sdp (OFFER / ANSWER)
  nlohmann::json metadata;      // payload.metadata (OFFER), null when absent
  nlohmann::json candidate;     // payload.candidate (CANDIDATE)
  std::string error;            // payload.msg (ERROR, ID-TAKEN, INVALID-KEY)
};

// Parses one frame. Unknown types parse (as kUnknown); a frame that is not a
// JSON object, is too large, or lacks what its type needs is an error.
Result<Message> parse(std::string_view frame);

std::string heartbeat();
std::string offer(const std::string& dst, const std::string& connection_id, const std::string& sdp,
                  const nlohmann::json& metadata);
std::string answer(const std::string& dst, const std::string& connection_id,
                   const std::string& sdp);
std::string leave(const std::string& dst);

// The WebSocket target: "<path>peerjs?key=..&id=..&token=..&version=1.5.5",
// `path` normalised to start and end with '/', as the peerjs client does.
std::string socket_target(std::string_view path, std::string_view key, std::string_view id,
                          std::string_view token);

// PeerJS ids: ^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$ (peerjs validateId).
bool valid_id(std::string_view id);
// A valid PeerJS id for the server's side of stream `stream`: "lss-" and the
// stream name's letters and digits, then a random suffix so that a stream
// restarted under the same name never collides with a lingering old id.
std::string server_id_for_stream(std::string_view stream);

std::string new_connection_id();  // "mc_" + random, as peerjs names media calls
std::string new_token();          // the per-session secret that lets an id reattach

}  // namespace lss::peerjs
