#pragma once
// The server's resource use as Linux reports it in /proc/<pid>: CPU time
// (utime + stime from stat) and resident memory (VmRSS, VmHWM from status).
#include <cstdint>

#include "common/result.hpp"

namespace lss::load {

struct ProcSample {
  double cpu_s = 0;     // user + system CPU time so far
  int64_t rss_kb = 0;   // VmRSS
  int64_t hwm_kb = 0;   // VmHWM: peak RSS since the process started
  int64_t threads = 0;  // Threads
};

Result<ProcSample> sample_process(int pid);

}  // namespace lss::load
