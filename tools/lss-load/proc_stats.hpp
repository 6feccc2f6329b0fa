#pragma once
// The server's resource use as Linux reports it in /proc/<pid>: CPU time
// (utime + stime from stat) and resident memory (VmRSS, VmHWM from status).
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "common/result.hpp"

namespace lss::load {

struct ProcSample {
  double cpu_s = 0;  // user + system CPU time so far
  // The split: on loopback the kernel's share includes delivering each
  // datagram to the receiving socket, which runs on the sender's CPU.
  double user_s = 0, system_s = 0;
  int64_t rss_kb = 0;   // VmRSS
  int64_t hwm_kb = 0;   // VmHWM: peak RSS since the process started
  int64_t threads = 0;  // Threads
  // Per thread (/proc/PID/task/TID): CPU time so far and name, to find the
  // busiest thread (a fan-out bound to one thread saturates at one core).
  std::map<int, std::pair<double, std::string>> thread_cpu_s;
};

Result<ProcSample> sample_process(int pid);

// The UDP counters of this network namespace (/proc/net/snmp, "Udp:"):
// datagrams the kernel dropped for a full receive or send buffer, here
// on loopback meaning a reader (server or lss-load) that fell behind.
struct UdpCounters {
  uint64_t in_datagrams = 0, in_errors = 0, rcvbuf_errors = 0, sndbuf_errors = 0;
};
Result<UdpCounters> sample_udp();

}  // namespace lss::load
