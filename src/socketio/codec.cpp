#include "socketio/codec.hpp"

namespace lss::socketio {

std::vector<std::string_view> split_payload(std::string_view body) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('\x1e', start);
    if (end == std::string_view::npos) end = body.size();
    if (end > start) out.push_back(body.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string join_payload(const std::vector<std::string>& packets) {
  std::string out;
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i) out.push_back('\x1e');
    out += packets[i];
  }
  return out;
}

Result<Packet> parse_packet(std::string_view t) {
  if (t.empty() || t[0] < '0' || t[0] > '6') return make_error("bad Socket.IO packet type");
  Packet p;
  p.type = t[0] - '0';
  size_t i = 1;
  if (p.type == kBinaryEvent || p.type == kBinaryAck)
    return make_error("binary Socket.IO packets are not supported");
  if (i < t.size() && t[i] == '/') {
    const size_t comma = t.find(',', i);
    if (comma == std::string_view::npos) {
      p.nsp = std::string(t.substr(i));
      i = t.size();
    } else {
      p.nsp = std::string(t.substr(i, comma - i));
      i = comma + 1;
    }
    if (p.nsp.size() > 128) return make_error("namespace too long");
  }
  size_t digits = 0;
  uint64_t id = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
    if (++digits > 15) return make_error("ack id too long");
    id = id * 10 + uint64_t(t[i] - '0');
    ++i;
  }
  if (digits) p.ack_id = id;
  p.json = std::string(t.substr(i));
  if (!p.json.empty() && p.json[0] != '[' && p.json[0] != '{')
    return make_error("bad Socket.IO payload");
  return p;
}

std::string encode_message(const Packet& p) {
  std::string out = "4";
  out.push_back(char('0' + p.type));
  if (p.nsp != "/") out += p.nsp + ",";
  if (p.ack_id) out += std::to_string(*p.ack_id);
  out += p.json;
  return out;
}

}  // namespace lss::socketio
