#include "app/env_file.hpp"

#include <fstream>

namespace lss {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

bool key_char(char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (!first && c >= '0' && c <= '9');
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The value after '=': quoted or bare. False on an unterminated quote or
// text after the closing one.
bool parse_value(std::string_view in, std::string& out) {
  in = trim(in);
  out.clear();
  if (in.empty() || (in.front() != '"' && in.front() != '\'')) {
    out = std::string(in);
    return true;
  }
  const char quote = in.front();
  size_t i = 1;
  for (; i < in.size() && in[i] != quote; ++i) {
    if (quote == '"' && in[i] == '\\' && i + 1 < in.size()) {
      const char next = in[++i];
      out += next == 'n' ? '\n' : next;
    } else {
      out += in[i];
    }
  }
  if (i >= in.size()) return false;  // no closing quote
  const std::string_view rest = trim(in.substr(i + 1));
  return rest.empty() || rest.front() == '#';
}

}  // namespace

Result<EnvEntries> parse_env_file(std::string_view text) {
  if (text.size() > kMaxFileBytes) return make_error("larger than 1 MiB");
  EnvEntries out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = trim(line.substr(7));
    const size_t eq = line.find('=');
    const std::string_view key = trim(line.substr(0, eq));
    bool key_ok = eq != std::string_view::npos && !key.empty();
    for (size_t i = 0; key_ok && i < key.size(); ++i) key_ok = key_char(key[i], i == 0);
    auto fail = [&](const char* what) {
      return make_error("line " + std::to_string(line_no) + ": " + what);
    };
    if (!key_ok) return fail("expected KEY=VALUE with KEY of letters, digits and _");
    std::string value;
    if (!parse_value(line.substr(eq + 1), value)) return fail("unterminated or malformed quote");
    out.emplace_back(std::string(key), std::move(value));
  }
  return out;
}

Result<EnvEntries> read_env_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read " + path);
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  auto entries = parse_env_file(text);
  if (!entries.ok()) return make_error(path + ": " + entries.error().message);
  return entries;
}

const std::string* find_entry(const EnvEntries& entries, std::string_view key) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : entries) {
    if (k == key) found = &v;
  }
  return found;
}

}  // namespace lss
