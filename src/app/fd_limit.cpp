#include "app/fd_limit.hpp"

#include <cerrno>
#include <cstring>
#include <string>

namespace lss {

Result<FdLimit> raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0)
    return make_error(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  FdLimit out{r.rlim_cur, r.rlim_cur};
  if (r.rlim_cur == r.rlim_max) return out;
  rlimit raised = r;
  raised.rlim_cur = r.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    // Linux refuses an unlimited soft limit above fs.nr_open: that is the
    // most it allows, and the usual hard limit (1048576) anyway.
    raised.rlim_cur = 1048576;
    if (r.rlim_max != RLIM_INFINITY || setrlimit(RLIMIT_NOFILE, &raised) != 0)
      return make_error(std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  out.now = raised.rlim_cur;
  return out;
}

}  // namespace lss
