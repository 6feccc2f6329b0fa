#include "peerjs/peerjs_message.hpp"

#include <cctype>

#include "common/random.hpp"

namespace lss::peerjs {

namespace {

Type type_of(std::string_view t) {
  if (t == "OPEN") return Type::kOpen;
  if (t == "ERROR") return Type::kError;
  if (t == "ID-TAKEN") return Type::kIdTaken;
  if (t == "INVALID-KEY") return Type::kInvalidKey;
  if (t == "LEAVE") return Type::kLeave;
  if (t == "EXPIRE") return Type::kExpire;
  if (t == "OFFER") return Type::kOffer;
  if (t == "ANSWER") return Type::kAnswer;
  if (t == "CANDIDATE") return Type::kCandidate;
  if (t == "HEARTBEAT") return Type::kHeartbeat;
  return Type::kUnknown;
}

std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// RFC 3986 unreserved characters pass; everything else is %-encoded.
std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (alnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 15];
      out += kHex[static_cast<unsigned char>(c) & 15];
    }
  }
  return out;
}

}  // namespace

Result<Message> parse(std::string_view frame) {
  if (frame.size() > kMaxMessageBytes) return make_error("PeerJS message too large");
  auto j = nlohmann::json::parse(frame, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("PeerJS message is not a JSON object");
  Message m;
  m.type_name = string_field(j, "type");
  if (m.type_name.empty()) return make_error("PeerJS message without a type");
  m.type = type_of(m.type_name);
  m.src = string_field(j, "src");
  m.dst = string_field(j, "dst");
  const auto payload_it = j.find("payload");
  const nlohmann::json payload =
      payload_it != j.end() && payload_it->is_object() ? *payload_it : nlohmann::json::object();
  switch (m.type) {
    case Type::kError:
    case Type::kIdTaken:
    case Type::kInvalidKey:
      m.error = string_field(payload, "msg");
      break;
    case Type::kOffer:
    case Type::kAnswer: {
      m.connection_id = string_field(payload, "connectionId");
      m.connection_type = string_field(payload, "type");
      // payload.sdp is a serialised RTCSessionDescription {type, sdp}.
      auto sdp = payload.find("sdp");
      if (sdp != payload.end() && sdp->is_object()) m.sdp = string_field(*sdp, "sdp");
      if (m.connection_id.empty() || m.sdp.empty()) {
        return make_error("PeerJS " + m.type_name + " without connectionId or sdp");
      }
      if (auto md = payload.find("metadata"); md != payload.end()) m.metadata = *md;
      break;
    }
    case Type::kCandidate:
      m.connection_id = string_field(payload, "connectionId");
      m.connection_type = string_field(payload, "type");
      if (auto c = payload.find("candidate"); c != payload.end()) m.candidate = *c;
      if (m.connection_id.empty()) return make_error("PeerJS CANDIDATE without connectionId");
      break;
    default:
      break;
  }
  return m;
}

std::string heartbeat() {
  return R"({"type":"HEARTBEAT"})";
}

std::string offer(const std::string& dst, const std::string& connection_id, const std::string& sdp,
                  const nlohmann::json& metadata) {
  nlohmann::json payload = {{"sdp", {{"type", "offer"}, {"sdp", sdp}}},
                            {"type", "media"},
                            {"connectionId", connection_id}};
  if (!metadata.is_null()) payload["metadata"] = metadata;
  return nlohmann::json{{"type", "OFFER"}, {"dst", dst}, {"payload", payload}}.dump();
}

std::string answer(const std::string& dst, const std::string& connection_id,
                   const std::string& sdp) {
  return nlohmann::json{{"type", "ANSWER"},
                        {"dst", dst},
                        {"payload",
                         {{"sdp", {{"type", "answer"}, {"sdp", sdp}}},
                          {"type", "media"},
                          {"connectionId", connection_id}}}}
      .dump();
}

std::string leave(const std::string& dst) {
  return nlohmann::json{{"type", "LEAVE"}, {"dst", dst}}.dump();
}

std::string socket_target(std::string_view path, std::string_view key, std::string_view id,
                          std::string_view token) {
  std::string p(path);
  if (p.empty() || p.front() != '/') p.insert(p.begin(), '/');
  if (p.back() != '/') p += '/';
  return p + "peerjs?key=" + query_escape(key) + "&id=" + query_escape(id) +
         "&token=" + query_escape(token) + "&version=1.5.5";
}

bool valid_id(std::string_view id) {
  // Runs of letters/digits separated by single ' ', '_' or '-'.
  if (id.empty() || !alnum(id.front()) || !alnum(id.back())) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (alnum(c)) continue;
    if (c != ' ' && c != '_' && c != '-') return false;
    if (!alnum(id[i + 1])) return false;  // safe: the last character is alnum
  }
  return true;
}

std::string server_id_for_stream(std::string_view stream) {
  std::string id = "lss-";
  for (char c : stream) {
    if (alnum(c) && id.size() < 40) id += c;
  }
  if (id.back() != '-') id += '-';
  return id + random_hex(6);
}

std::string new_connection_id() {
  return "mc_" + random_string(11, "abcdefghijklmnopqrstuvwxyz0123456789");
}

std::string new_token() {
  return random_string(11, "abcdefghijklmnopqrstuvwxyz0123456789");
}

}  // namespace lss::peerjs
