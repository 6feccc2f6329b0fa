#include "dtls/openssl_memory.hpp"

#include <malloc.h>
#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace lss::openssl_memory {

namespace {

struct Block {
  size_t size;    // as requested
  size_t mapped;  // whole pages
  BlockOwner* owner;
};

struct Registry {
  std::mutex mutex;
  std::unordered_map<void*, Block> blocks;
  Stats stats;
};

// Never destroyed: OpenSSL frees memory from its atexit handler, after
// static destructors may have run.
Registry& registry() {
  static auto* r = new Registry();
  return *r;
}

// Not a namespace-scope constant: install() may run before this file's
// dynamic initialisers (from .preinit_array, see main.cpp).
size_t page_size() {
  static const size_t page = size_t(sysconf(_SC_PAGESIZE));
  return page;
}
std::atomic<bool> g_installed{false};
thread_local BlockOwner* t_owner = nullptr;

bool maybe_large(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & (page_size() - 1)) == 0;
}

// The block's record, or nullptr when `p` came from malloc. Caller locks.
Block* find_locked(Registry& r, void* p) {
  if (!maybe_large(p)) return nullptr;
  auto it = r.blocks.find(p);
  return it == r.blocks.end() ? nullptr : &it->second;
}

}  // namespace

bool install() {
  // Touch the registry first: its allocation is not OpenSSL's.
  registry();
  if (!CRYPTO_set_mem_functions(allocate, reallocate, deallocate)) return false;
  g_installed = true;
  return true;
}

bool installed() {
  return g_installed;
}

void* allocate(size_t size, const char*, int) {
  if (size == 0) return nullptr;  // as CRYPTO_malloc
  if (size < kLargeBlock) return std::malloc(size);
  const size_t mapped = (size + page_size() - 1) / page_size() * page_size();
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return std::malloc(size);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.blocks[p] = Block{size, mapped, t_owner};
  r.stats.blocks++;
  r.stats.bytes += mapped;
  if (BlockOwner* o = t_owner) {
    if (o->blocks_.size() >= 8) {  // drop the names of blocks freed since
      std::erase_if(o->blocks_, [&](void* b) {
        const Block* k = find_locked(r, b);
        return !k || k->owner != o;
      });
    }
    o->blocks_.push_back(p);
  }
  return p;
}

void deallocate(void* p, const char*, int) {
  if (!p) return;
  if (maybe_large(p)) {
    Registry& r = registry();
    size_t mapped = 0;
    {
      std::lock_guard lock(r.mutex);
      if (Block* b = find_locked(r, p)) {
        mapped = b->mapped;
        r.blocks.erase(p);
        r.stats.blocks--;
        r.stats.bytes -= mapped;
      }
    }
    if (mapped) {
      munmap(p, mapped);
      return;
    }
  }
  std::free(p);
}

void* reallocate(void* p, size_t size, const char* file, int line) {
  if (!p) return allocate(size, file, line);
  if (size == 0) {  // as CRYPTO_realloc
    deallocate(p, file, line);
    return nullptr;
  }
  size_t old_size = 0;
  bool large = false;
  if (maybe_large(p)) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (Block* b = find_locked(r, p)) {
      large = true;
      if (size >= kLargeBlock && size <= b->mapped) {
        b->size = size;
        return p;
      }
      old_size = b->size;
    }
  }
  if (!large) {
    if (size < kLargeBlock) return std::realloc(p, size);
    old_size = malloc_usable_size(p);
  }
  void* q = allocate(size, file, line);
  if (!q) return nullptr;
  std::memcpy(q, p, std::min(old_size, size));
  deallocate(p, file, line);
  return q;
}

Stats stats() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.stats;
}

BlockOwner::~BlockOwner() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (void* p : blocks_) {
    if (Block* b = find_locked(r, p); b && b->owner == this) b->owner = nullptr;
  }
}

BlockOwner::Scope::Scope(BlockOwner& owner) : previous_(t_owner) {
  t_owner = &owner;
}
BlockOwner::Scope::~Scope() {
  t_owner = previous_;
}

size_t BlockOwner::release_pages() {
  if (blocks_.empty()) return 0;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  size_t released = 0;
  std::erase_if(blocks_, [&](void* p) {
    const Block* b = find_locked(r, p);
    if (!b || b->owner != this) return true;
    // The mapping is this block's alone, so every page of it may go.
    if (madvise(p, b->mapped, MADV_DONTNEED) == 0) released += b->mapped;
    return false;
  });
  return released;
}

size_t BlockOwner::mapped_bytes() const {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  size_t n = 0;
  for (void* p : blocks_) {
    if (const Block* b = find_locked(r, p); b && b->owner == this) n += b->mapped;
  }
  return n;
}

size_t BlockOwner::resident_bytes() const {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  size_t n = 0;
  std::vector<unsigned char> pages;
  for (void* p : blocks_) {
    const Block* b = find_locked(r, p);
    if (!b || b->owner != this) continue;
    pages.assign(b->mapped / page_size(), 0);
    if (mincore(p, b->mapped, pages.data()) != 0) continue;
    for (unsigned char v : pages) n += (v & 1) ? page_size() : 0;
  }
  return n;
}

}  // namespace lss::openssl_memory
