#pragma once
// OpenSSL's large buffers on their own pages, so that an idle DTLS
// connection keeps them only as address space.
//
// After a DTLS handshake OpenSSL 3.0 keeps, per connection, a 21.8 KB
// handshake buffer (s->init_buf: freed after the handshake only for TLS,
// "in case there are any unexpected retransmits") and a 16.7 KB record read
// buffer (SSL_MODE_RELEASE_BUFFERS is ignored for DTLS). Neither holds
// anything between two datagrams once the handshake is over, but nothing
// public frees them, and SSL_free_buffers() is unsafe (CVE-2024-4741).
//
// With install(), OpenSSL allocations of kLargeBlock bytes or more get their
// own anonymous mapping. Those made while a BlockOwner is in scope on the
// thread are recorded in it, and BlockOwner::release_pages() hands their
// pages back to the kernel (MADV_DONTNEED): the memory stays mapped and
// valid and reads as zeros until touched again, so RSS drops by ~38 KB per
// idle connection. This is memory safe whatever OpenSSL does next: the worst
// a wrongly released buffer can do is turn bytes OpenSSL still wanted into
// zeros, which its record and message checks treat like any corrupt input.
#include <cstddef>
#include <vector>

namespace lss::openssl_memory {

constexpr size_t kLargeBlock = 12 * 1024;

// Installs the allocation hooks; must run before OpenSSL's first allocation.
// Shared libraries may initialise OpenSSL from their ELF constructors
// (libmongoc does), before main and before any static initialiser of ours:
// LSS_OPENSSL_MEMORY_PREINIT() calls it earlier. Returns false when it is too
// late; the hooks are then absent and release_pages() does nothing.
bool install();
bool installed();

// Put once at namespace scope in an executable's source: install() then runs
// from the executable's .preinit_array, which the dynamic linker runs after
// relocating every object and before any shared library's constructor.
#define LSS_OPENSSL_MEMORY_PREINIT()                                                      \
  [[gnu::used, gnu::section(".preinit_array")]] void (*const lss_openssl_memory_preinit)( \
      int, char**, char**) = [](int, char**, char**) { lss::openssl_memory::install(); }

// The hooks themselves, for a caller that wraps them (bench/viewer_memory).
void* allocate(size_t size, const char* file, int line);
void* reallocate(void* p, size_t size, const char* file, int line);
void deallocate(void* p, const char* file, int line);

struct Stats {
  size_t blocks = 0;  // live large blocks
  size_t bytes = 0;   // their mapped bytes
};
Stats stats();

// Collects the large blocks OpenSSL allocates while a Scope of it is active
// on the calling thread. One thread uses an owner at a time.
class BlockOwner {
 public:
  BlockOwner() = default;
  ~BlockOwner();
  BlockOwner(const BlockOwner&) = delete;
  BlockOwner& operator=(const BlockOwner&) = delete;

  class Scope {
   public:
    explicit Scope(BlockOwner& owner);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    BlockOwner* previous_;
  };

  // Returns the pages of the owner's live large blocks to the kernel. Only
  // for blocks whose contents are dead (see DtlsTransport). Returns the
  // number of bytes released.
  size_t release_pages();
  // Bytes of the owner's live large blocks, and how many are resident.
  size_t mapped_bytes() const;
  size_t resident_bytes() const;

 private:
  friend void* allocate(size_t, const char*, int);
  std::vector<void*> blocks_;  // may name freed blocks; checked on release
};

}  // namespace lss::openssl_memory
