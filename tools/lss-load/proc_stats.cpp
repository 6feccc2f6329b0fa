#include "proc_stats.hpp"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
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

struct CpuTimes {
  double user_s, system_s;
};
// utime and stime (fields 14 and 15) of a /proc stat line, in seconds.
std::optional<CpuTimes> stat_cpu(const std::string& stat) {
  // The command name (field 2) may contain spaces and parentheses: fields
  // are counted from the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) return std::nullopt;
  std::string_view rest = std::string_view(stat).substr(close + 2);  // field 3 onward
  uint64_t fields[13] = {};
  for (int f = 3; f <= 15; ++f) {
    const size_t sp = rest.find(' ');
    std::string_view tok = rest.substr(0, sp);
    if (f >= 14) {
      auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), fields[f - 3]);
      if (ec != std::errc()) return std::nullopt;
    }
    if (sp == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(sp + 1);
  }
  const double ticks = double(sysconf(_SC_CLK_TCK));
  const double hz = ticks > 0 ? ticks : 100.0;
  return CpuTimes{double(fields[14 - 3]) / hz, double(fields[15 - 3]) / hz};
}

}  // namespace

Result<ProcSample> sample_process(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::string stat, status;
  if (!read_file(dir + "/stat", stat) || !read_file(dir + "/status", status))
    return make_error("cannot read " + dir + " (is the server running?)");
  auto cpu = stat_cpu(stat);
  if (!cpu) return make_error("unexpected " + dir + "/stat");
  ProcSample s;
  s.user_s = cpu->user_s;
  s.system_s = cpu->system_s;
  s.cpu_s = cpu->user_s + cpu->system_s;
  s.rss_kb = status_field(status, "VmRSS");
  s.hwm_kb = status_field(status, "VmHWM");
  s.threads = status_field(status, "Threads");
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/task", ec)) {
    int tid = 0;
    const std::string name = e.path().filename().string();
    if (std::from_chars(name.data(), name.data() + name.size(), tid).ec != std::errc()) continue;
    std::string tstat, comm;
    if (!read_file(e.path().string() + "/stat", tstat)) continue;
    read_file(e.path().string() + "/comm", comm);
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (auto t = stat_cpu(tstat)) s.thread_cpu_s[tid] = {t->user_s + t->system_s, comm};
  }
  return s;
}

Result<UdpCounters> sample_udp() {
  std::string snmp;
  if (!read_file("/proc/net/snmp", snmp)) return make_error("cannot read /proc/net/snmp");
  // Two "Udp:" lines: the field names, then the values.
  std::istringstream in(snmp);
  std::string line, names;
  while (std::getline(in, line)) {
    if (!line.starts_with("Udp: ")) continue;
    if (names.empty()) {
      names = line;
      continue;
    }
    std::istringstream n(names), v(line);
    std::string name, value;
    UdpCounters c;
    while (n >> name && v >> value) {
      uint64_t x = 0;
      std::from_chars(value.data(), value.data() + value.size(), x);
      if (name == "InDatagrams") c.in_datagrams = x;
      if (name == "InErrors") c.in_errors = x;
      if (name == "RcvbufErrors") c.rcvbuf_errors = x;
      if (name == "SndbufErrors") c.sndbuf_errors = x;
    }
    return c;
  }
  return make_error("no Udp: counters in /proc/net/snmp");
}

}  // namespace lss::load
