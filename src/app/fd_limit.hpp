#pragma once
// Every connection is a descriptor, and many systems start processes with a
// soft RLIMIT_NOFILE of 1024, far under HTTP_MAX_CONNECTIONS: raise the soft
// limit to the hard one at start, so the server's own caps are what bind.
#include <sys/resource.h>

#include "common/result.hpp"

namespace lss {

struct FdLimit {
  rlim_t before = 0;
  rlim_t now = 0;  // RLIM_INFINITY when unlimited
};

Result<FdLimit> raise_fd_limit();

}  // namespace lss
