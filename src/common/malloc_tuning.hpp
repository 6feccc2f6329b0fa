#pragma once
// glibc raises its mmap threshold to the largest block freed so far (up to
// 32 MiB): once a session's large buffers have been freed, the next
// sessions' come from the heap arenas and stay resident after they go. With
// 2,000 viewer and 200 publisher join/leave cycles the idle server kept ~30 %
// more RSS than before them (tests/e2e/churn.test.mjs). A fixed threshold
// keeps every block of `bytes` and more in a mapping of its own, handed back
// to the system by free().
#include <cstddef>

namespace lss {

// False where the allocator is not glibc's (or a sanitizer's stands in).
bool fix_malloc_mmap_threshold(size_t bytes = 128 * 1024);

}  // namespace lss
