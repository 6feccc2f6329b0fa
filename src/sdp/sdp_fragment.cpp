#include "sdp/sdp_fragment.hpp"

#include <cctype>

#include "common/parse_number.hpp"

namespace lss::sdp {

namespace {

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

bool ice_chars(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool valid_ice_ufrag(std::string_view s) {
  return ice_chars(s, 4, 256);
}
bool valid_ice_pwd(std::string_view s) {
  return ice_chars(s, 22, 256);
}

std::optional<IceCandidate> parse_ice_candidate(std::string_view value) {
  // foundation SP component-id SP transport SP priority SP address SP port
  // SP "typ" SP cand-type *(SP extension)
  auto parts = split_ws(value);
  if (parts.size() < 8 || parts[6] != "typ") return std::nullopt;
  IceCandidate c;
  if (!ice_chars(parts[0], 1, 32)) return std::nullopt;
  c.foundation = std::string(parts[0]);
  if (!parse_number(parts[1], c.component) || c.component < 1 || c.component > 256)
    return std::nullopt;
  c.transport = lower(parts[2]);
  if (!parse_number(parts[3], c.priority)) return std::nullopt;
  c.address = std::string(parts[4]);
  unsigned port = 0;
  if (!parse_number(parts[5], port) || port > 65535) return std::nullopt;
  c.port = uint16_t(port);
  c.type = lower(parts[7]);
  return c;
}

std::optional<std::string> SdpFragment::ufrag() const {
  if (ice_ufrag) return ice_ufrag;
  for (const auto& m : media)
    if (m.ice_ufrag) return m.ice_ufrag;
  return std::nullopt;
}

std::optional<std::string> SdpFragment::pwd() const {
  if (ice_pwd) return ice_pwd;
  for (const auto& m : media)
    if (m.ice_pwd) return m.ice_pwd;
  return std::nullopt;
}

std::vector<IceCandidate> SdpFragment::parsed_candidates() const {
  std::vector<IceCandidate> out;
  for (const auto& m : media) {
    for (const auto& c : m.candidates) {
      if (auto parsed = parse_ice_candidate(c)) out.push_back(std::move(*parsed));
    }
  }
  return out;
}

Result<SdpFragment> parse_sdp_fragment(std::string_view text) {
  if (text.size() > kMaxFragmentBytes) return make_error("fragment larger than 64 KiB");
  SdpFragment f;
  size_t pos = 0, line_no = 0;
  auto fail = [&](const std::string& why) {
    return make_error("line " + std::to_string(line_no) + ": " + why);
  };
  // One ICE generation per fragment: every ufrag (pwd) given must agree.
  std::optional<std::string> ufrag_seen, pwd_seen;
  auto credential = [&](std::optional<std::string>& slot, std::optional<std::string>& seen,
                        std::string_view value, bool is_ufrag) -> std::optional<std::string> {
    const char* name = is_ufrag ? "ice-ufrag" : "ice-pwd";
    if (is_ufrag ? !valid_ice_ufrag(value) : !valid_ice_pwd(value)) {
      return std::string("malformed a=") + name +
             (is_ufrag ? " (4 to 256 of A-Z a-z 0-9 + /)" : " (22 to 256 of A-Z a-z 0-9 + /)");
    }
    if (seen && *seen != value) return std::string("conflicting a=") + name + " values";
    seen = std::string(value);
    slot = std::string(value);
    return std::nullopt;
  };
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line_no > kMaxFragmentLines) return fail("too many lines");
    if (line.size() < 2 || line[1] != '=' || !std::isalpha(static_cast<unsigned char>(line[0]))) {
      return fail("expected '<letter>=<value>', got '" + std::string(line.substr(0, 40)) + "'");
    }
    for (char c : line) {
      if (c == '\0') return fail("NUL character");
    }
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (type == 'v') return fail("a whole SDP (v=), not an SDP fragment");
    if (type == 'm') {
      if (f.media.size() >= kMaxFragmentSections) return fail("too many media sections");
      auto parts = split_ws(value);
      if (parts.size() < 3) return fail("m-line needs media, port and proto");
      FragmentSection m;
      m.media = std::string(parts[0]);
      std::string_view port = parts[1];
      unsigned p = 0;
      if (!parse_number(port.substr(0, port.find('/')), p) || p > 65535)
        return fail("m-line has a bad port");
      m.port = std::string(parts[1]);
      m.proto = std::string(parts[2]);
      for (size_t i = 3; i < parts.size(); ++i) m.formats.emplace_back(parts[i]);
      f.media.push_back(std::move(m));
      continue;
    }
    if (type != 'a') continue;  // c=, b=, ...: nothing ICE needs
    const size_t colon = value.find(':');
    const std::string_view name = value.substr(0, colon);
    const std::string_view arg =
        colon == std::string_view::npos ? std::string_view() : value.substr(colon + 1);
    if (name.empty()) return fail("empty attribute name");
    FragmentSection* section = f.media.empty() ? nullptr : &f.media.back();
    if (name == "ice-ufrag" || name == "ice-pwd") {
      const bool is_ufrag = name == "ice-ufrag";
      auto& slot = section ? (is_ufrag ? section->ice_ufrag : section->ice_pwd)
                           : (is_ufrag ? f.ice_ufrag : f.ice_pwd);
      if (auto err = credential(slot, is_ufrag ? ufrag_seen : pwd_seen, arg, is_ufrag))
        return fail(*err);
    } else if (name == "ice-options") {
      for (auto t : split_ws(arg)) f.ice_options.emplace_back(t);
    } else if (name == "ice-lite") {
      f.ice_lite = true;
    } else if (name == "mid") {
      if (!section) return fail("a=mid before any m= line");
      section->mid = std::string(arg);
    } else if (name == "candidate") {
      if (!section) return fail("a=candidate before any m= line (RFC 8840 §4.1)");
      section->candidates.emplace_back(arg);
    } else if (name == "end-of-candidates") {
      (section ? section->end_of_candidates : f.end_of_candidates) = true;
    }
  }
  return f;
}

std::string write_sdp_fragment(const SdpFragment& f) {
  std::string s;
  if (f.ice_lite) s += "a=ice-lite\r\n";
  if (!f.ice_options.empty()) {
    s += "a=ice-options:";
    for (size_t i = 0; i < f.ice_options.size(); ++i) s += (i ? " " : "") + f.ice_options[i];
    s += "\r\n";
  }
  if (f.ice_ufrag) s += "a=ice-ufrag:" + *f.ice_ufrag + "\r\n";
  if (f.ice_pwd) s += "a=ice-pwd:" + *f.ice_pwd + "\r\n";
  if (f.end_of_candidates) s += "a=end-of-candidates\r\n";
  for (const auto& m : f.media) {
    s += "m=" + (m.media.empty() ? std::string("audio") : m.media) + " " +
         (m.port.empty() ? std::string("9") : m.port) + " " +
         (m.proto.empty() ? std::string("UDP/TLS/RTP/SAVPF") : m.proto);
    for (const auto& fmt : m.formats) s += " " + fmt;
    s += "\r\n";
    if (!m.mid.empty()) s += "a=mid:" + m.mid + "\r\n";
    if (m.ice_ufrag) s += "a=ice-ufrag:" + *m.ice_ufrag + "\r\n";
    if (m.ice_pwd) s += "a=ice-pwd:" + *m.ice_pwd + "\r\n";
    for (const auto& c : m.candidates) s += "a=candidate:" + c + "\r\n";
    if (m.end_of_candidates) s += "a=end-of-candidates\r\n";
  }
  return s;
}

}  // namespace lss::sdp
