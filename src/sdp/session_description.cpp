#include "sdp/session_description.hpp"

#include <cctype>
#include <charconv>

namespace lss::sdp {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Attribute parse_attribute(std::string_view v) {
  Attribute a;
  const size_t colon = v.find(':');
  if (colon == std::string_view::npos) {
    a.name = std::string(v);
  } else {
    a.name = std::string(v.substr(0, colon));
    a.value = std::string(v.substr(colon + 1));
    a.has_value = true;
  }
  return a;
}

std::optional<std::string> first_value(const std::vector<Attribute>& attrs, std::string_view name) {
  for (const auto& a : attrs)
    if (a.name == name) return a.value;
  return std::nullopt;
}

std::vector<std::string> all_values(const std::vector<Attribute>& attrs, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& a : attrs)
    if (a.name == name) out.push_back(a.value);
  return out;
}

// "<pt> rest" -> pt, rest
bool split_pt(std::string_view v, uint8_t& pt, std::string_view& rest) {
  const size_t sp = v.find(' ');
  unsigned n = 0;
  if (!parse_number(v.substr(0, sp), n) || n > 127) return false;
  pt = uint8_t(n);
  rest = sp == std::string_view::npos ? std::string_view() : v.substr(sp + 1);
  return true;
}

}  // namespace

std::optional<std::string> MediaSection::attribute(std::string_view name) const {
  return first_value(attributes, name);
}
std::vector<std::string> MediaSection::attribute_values(std::string_view name) const {
  return all_values(attributes, name);
}
bool MediaSection::has_attribute(std::string_view name) const {
  return first_value(attributes, name).has_value();
}

std::string MediaSection::mid() const {
  return attribute("mid").value_or("");
}

std::string MediaSection::direction() const {
  for (const auto& a : attributes) {
    if (a.name == "sendrecv" || a.name == "sendonly" || a.name == "recvonly" ||
        a.name == "inactive")
      return a.name;
  }
  return "sendrecv";
}

std::vector<RtpMap> MediaSection::rtpmaps() const {
  std::vector<RtpMap> out;
  for (const auto& v : attribute_values("rtpmap")) {
    uint8_t pt;
    std::string_view rest;
    if (!split_pt(v, pt, rest)) continue;
    // encoding/clock[/channels]
    const size_t s1 = rest.find('/');
    if (s1 == std::string_view::npos) continue;
    RtpMap m{pt, std::string(rest.substr(0, s1)), 0, 0};
    std::string_view tail = rest.substr(s1 + 1);
    const size_t s2 = tail.find('/');
    if (!parse_number(tail.substr(0, s2), m.clock_rate)) continue;
    if (s2 != std::string_view::npos) {
      unsigned ch = 0;
      if (parse_number(tail.substr(s2 + 1), ch) && ch < 256) m.channels = uint8_t(ch);
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<RtpMap> MediaSection::rtpmap(uint8_t pt) const {
  for (auto& m : rtpmaps())
    if (m.payload_type == pt) return m;
  return std::nullopt;
}

std::string MediaSection::fmtp(uint8_t pt) const {
  for (const auto& v : attribute_values("fmtp")) {
    uint8_t p;
    std::string_view rest;
    if (split_pt(v, p, rest) && p == pt) return std::string(rest);
  }
  return {};
}

std::vector<std::string> MediaSection::rtcp_fbs(uint8_t pt) const {
  std::vector<std::string> out;
  for (const auto& v : attribute_values("rtcp-fb")) {
    const size_t sp = v.find(' ');
    if (sp == std::string::npos) continue;
    const std::string_view id = std::string_view(v).substr(0, sp);
    uint8_t p;
    std::string_view rest;
    if (id == "*" || (split_pt(v, p, rest) && p == pt)) out.push_back(v.substr(sp + 1));
  }
  return out;
}

std::vector<ExtMap> MediaSection::extmaps() const {
  std::vector<ExtMap> out;
  for (const auto& v : attribute_values("extmap")) {
    auto parts = split_ws(v);
    if (parts.size() < 2) continue;
    std::string_view idpart = parts[0];
    ExtMap e;
    const size_t slash = idpart.find('/');
    if (slash != std::string_view::npos) {
      e.direction = std::string(idpart.substr(slash + 1));
      idpart = idpart.substr(0, slash);
    }
    unsigned id = 0;
    if (!parse_number(idpart, id) || id == 0 || id > 255) continue;
    e.id = uint8_t(id);
    e.uri = std::string(parts[1]);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<SsrcLine> MediaSection::ssrcs() const {
  std::vector<SsrcLine> out;
  for (const auto& v : attribute_values("ssrc")) {
    const size_t sp = v.find(' ');
    uint32_t ssrc = 0;
    if (!parse_number(std::string_view(v).substr(0, sp), ssrc)) continue;
    SsrcLine l{ssrc, {}, {}};
    if (sp != std::string::npos) {
      std::string_view rest = std::string_view(v).substr(sp + 1);
      const size_t colon = rest.find(':');
      l.attribute = std::string(rest.substr(0, colon));
      if (colon != std::string_view::npos) l.value = std::string(rest.substr(colon + 1));
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::vector<std::vector<uint32_t>> MediaSection::ssrc_groups(std::string_view semantics) const {
  std::vector<std::vector<uint32_t>> out;
  for (const auto& v : attribute_values("ssrc-group")) {
    auto parts = split_ws(v);
    if (parts.empty() || parts[0] != semantics) continue;
    std::vector<uint32_t> g;
    for (size_t i = 1; i < parts.size(); ++i) {
      uint32_t s;
      if (parse_number(parts[i], s)) g.push_back(s);
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::optional<std::string> SessionDescription::attribute(std::string_view name) const {
  return first_value(attributes, name);
}
std::vector<std::string> SessionDescription::attribute_values(std::string_view name) const {
  return all_values(attributes, name);
}

std::vector<std::string> SessionDescription::bundle_group() const {
  for (const auto& v : attribute_values("group")) {
    auto parts = split_ws(v);
    if (!parts.empty() && parts[0] == "BUNDLE") {
      std::vector<std::string> mids;
      for (size_t i = 1; i < parts.size(); ++i) mids.emplace_back(parts[i]);
      return mids;
    }
  }
  return {};
}

std::optional<std::string> SessionDescription::transport_attribute(const MediaSection& m,
                                                                   std::string_view name) const {
  if (auto v = m.attribute(name)) return v;
  return attribute(name);
}

std::optional<Fingerprint> SessionDescription::fingerprint(const MediaSection& m) const {
  auto v = transport_attribute(m, "fingerprint");
  if (!v) return std::nullopt;
  return parse_fingerprint(*v);
}

std::optional<Fingerprint> parse_fingerprint(std::string_view value) {
  auto parts = split_ws(value);
  if (parts.size() != 2) return std::nullopt;
  return Fingerprint{lower(parts[0]), std::string(parts[1])};
}

std::string SessionDescription::to_string() const {
  std::string out;
  auto put_attr = [&](const Attribute& a) {
    out += "a=" + a.name;
    if (a.has_value) out += ":" + a.value;
    out += "\r\n";
  };
  for (const auto& l : lines) {
    out += l.type;
    out += "=" + l.value + "\r\n";
  }
  for (const auto& a : attributes) put_attr(a);
  for (const auto& m : media) {
    out += "m=" + m.media + " " + std::to_string(m.port) + " " + m.proto;
    for (const auto& f : m.formats) out += " " + f;
    out += "\r\n";
    for (const auto& l : m.lines) {
      out += l.type;
      out += "=" + l.value + "\r\n";
    }
    for (const auto& a : m.attributes) put_attr(a);
  }
  return out;
}

Result<SessionDescription> parse_sdp(std::string_view text) {
  if (text.size() > kMaxSdpBytes) return make_error("SDP larger than 64 KiB");
  SessionDescription sd;
  size_t pos = 0, line_no = 0;
  bool saw_version = false;
  auto fail = [&](const std::string& why) {
    return make_error("line " + std::to_string(line_no) + ": " + why);
  };
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;  // tolerate blank lines (trailing newline etc.)
    if (line_no > kMaxLines) return fail("too many lines");
    if (line.size() < 2 || line[1] != '=' || !std::isalpha(static_cast<unsigned char>(line[0]))) {
      return fail("expected '<letter>=<value>', got '" + std::string(line.substr(0, 40)) + "'");
    }
    for (char c : line) {
      if (c == '\0') return fail("NUL character");
    }
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (!saw_version) {
      if (type != 'v' || value != "0") return fail("SDP must start with v=0");
      saw_version = true;
      sd.lines.push_back({type, std::string(value)});
      continue;
    }
    if (type == 'm') {
      if (sd.media.size() >= kMaxMediaSections) return fail("too many media sections");
      auto parts = split_ws(value);
      if (parts.size() < 3) return fail("m-line needs media, port, proto and formats");
      MediaSection m;
      m.media = std::string(parts[0]);
      std::string_view port = parts[1];
      const size_t slash = port.find('/');  // "port/count"
      unsigned p = 0;
      if (!parse_number(port.substr(0, slash), p) || p > 65535)
        return fail("m-line has a bad port");
      m.port = uint16_t(p);
      m.proto = std::string(parts[2]);
      for (size_t i = 3; i < parts.size(); ++i) m.formats.emplace_back(parts[i]);
      sd.media.push_back(std::move(m));
      continue;
    }
    if (type == 'a') {
      Attribute a = parse_attribute(value);
      if (a.name.empty()) return fail("empty attribute name");
      (sd.media.empty() ? sd.attributes : sd.media.back().attributes).push_back(std::move(a));
      continue;
    }
    (sd.media.empty() ? sd.lines : sd.media.back().lines).push_back({type, std::string(value)});
  }
  if (!saw_version) return make_error("empty SDP");
  return sd;
}

std::map<std::string, std::string> parse_fmtp(std::string_view fmtp) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i <= fmtp.size()) {
    size_t end = fmtp.find(';', i);
    if (end == std::string_view::npos) end = fmtp.size();
    std::string_view kv = fmtp.substr(i, end - i);
    while (!kv.empty() && kv.front() == ' ') kv.remove_prefix(1);
    while (!kv.empty() && kv.back() == ' ') kv.remove_suffix(1);
    if (!kv.empty()) {
      const size_t eq = kv.find('=');
      out[lower(kv.substr(0, eq))] =
          eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1));
    }
    i = end + 1;
  }
  return out;
}

}  // namespace lss::sdp
