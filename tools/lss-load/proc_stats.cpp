#include "proc_stats.hpp"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace lss::load {

namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// "VmRSS:\t  12345 kB" -> 12345
int64_t status_field(std::string_view status, std::string_view name) {
  size_t at = status.find(name);
  if (at == std::string_view::npos) return 0;
  at += name.size();
  while (at < status.size() && (status[at] == ':' || status[at] == ' ' || status[at] == '\t')) ++at;
  int64_t v = 0;
  std::from_chars(status.data() + at, status.data() + status.size(), v);
  return v;
}

}  // namespace

Result<ProcSample> sample_process(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::string stat, status;
  if (!read_file(dir + "/stat", stat) || !read_file(dir + "/status", status))
    return make_error("cannot read " + dir + " (is the server running?)");
  // The command name (field 2) may contain spaces and parentheses: fields
  // are counted from the last ')'. utime and stime are fields 14 and 15.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return make_error("unexpected " + dir + "/stat");
  std::string_view rest = std::string_view(stat).substr(close + 2);  // field 3 onward
  uint64_t fields[13] = {};
  for (int f = 3; f <= 15; ++f) {
    const size_t sp = rest.find(' ');
    std::string_view tok = rest.substr(0, sp);
    if (f >= 14) {
      auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), fields[f - 3]);
      if (ec != std::errc()) return make_error("unexpected " + dir + "/stat");
    }
    if (sp == std::string_view::npos) return make_error("short " + dir + "/stat");
    rest.remove_prefix(sp + 1);
  }
  const double ticks = double(sysconf(_SC_CLK_TCK));
  ProcSample s;
  s.cpu_s = double(fields[14 - 3] + fields[15 - 3]) / (ticks > 0 ? ticks : 100.0);
  s.rss_kb = status_field(status, "VmRSS");
  s.hwm_kb = status_field(status, "VmHWM");
  s.threads = status_field(status, "Threads");
  return s;
}

}  // namespace lss::load
