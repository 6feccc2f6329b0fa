#include "common/malloc_tuning.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace lss {

bool fix_malloc_mmap_threshold(size_t bytes) {
#ifdef __GLIBC__
  // Setting it at all turns the dynamic adjustment off.
  return mallopt(M_MMAP_THRESHOLD, int(bytes)) == 1;
#else
  (void)bytes;
  return false;
#endif
}

}  // namespace lss
