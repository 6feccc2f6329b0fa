#include "common/malloc_tuning.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace lss {
namespace {

// Escapes through a volatile, so the compiler cannot drop malloc and free.
void* volatile g_sink;

void* touched(size_t n) {
  void* p = std::malloc(n);
  std::memset(p, 1, n);
  g_sink = p;
  return p;
}

TEST(MallocTuning, LargeBlocksKeepTheirOwnMappingAfterALargerOneWasFreed) {
#ifdef __GLIBC__
  if (!fix_malloc_mmap_threshold()) GTEST_SKIP() << "glibc's malloc is not in use (sanitizer)";
  // Freeing an 8 MiB mapping would raise glibc's dynamic threshold to 8 MiB,
  // and a 256 KiB block would then come from the heap.
  void* big = touched(8 << 20);
  std::free(big);
  const size_t mapped = mallinfo2().hblkhd;
  void* block = touched(256 << 10);
  EXPECT_GE(mallinfo2().hblkhd, mapped + (256 << 10)) << "the block has a mapping of its own";
  std::free(block);
  EXPECT_EQ(mallinfo2().hblkhd, mapped) << "and free() handed it back";
#else
  GTEST_SKIP() << "not glibc";
#endif
}

}  // namespace
}  // namespace lss
