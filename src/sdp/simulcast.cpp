#include "sdp/simulcast.hpp"

#include <algorithm>

namespace lss::sdp {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// RFC 8851 rid-id: 1*(alpha-numeric / "-" / "_"); we also bound its length.
bool valid_rid(const std::string& id) {
  if (id.empty() || id.size() > 16) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

}  // namespace

std::vector<std::string> offered_send_rids(const MediaSection& m) {
  // "a=rid:<id> send [restrictions]"
  std::vector<std::string> declared;
  for (const auto& v : m.attribute_values("rid")) {
    const auto parts = split(v, ' ');
    if (parts.size() >= 2 && parts[1] == "send" && valid_rid(parts[0])) {
      declared.push_back(parts[0]);
    }
  }
  // "a=simulcast:send q;h;f" (optionally followed by " recv ..."), each
  // stream possibly "~paused" or with ","-separated alternatives.
  auto sim = m.attribute("simulcast");
  if (!sim) return {};
  const auto words = split(*sim, ' ');
  std::vector<std::string> rids;
  for (size_t i = 0; i + 1 < words.size(); i += 2) {
    if (words[i] != "send") continue;
    for (const auto& stream : split(words[i + 1], ';')) {
      std::string first = split(stream, ',').front();
      if (!first.empty() && first[0] == '~') first.erase(0, 1);
      if (std::find(declared.begin(), declared.end(), first) == declared.end()) return {};
      if (std::find(rids.begin(), rids.end(), first) != rids.end()) return {};
      rids.push_back(first);
    }
  }
  if (rids.size() < 2) return {};  // one stream is no simulcast
  if (rids.size() > kMaxSimulcastLayers) rids.resize(kMaxSimulcastLayers);
  return rids;
}

std::string simulcast_recv_lines(const std::vector<std::string>& rids) {
  std::string s;
  for (const auto& r : rids) s += "a=rid:" + r + " recv\r\n";
  s += "a=simulcast:recv ";
  for (size_t i = 0; i < rids.size(); ++i) s += (i ? ";" : "") + rids[i];
  s += "\r\n";
  return s;
}

}  // namespace lss::sdp
