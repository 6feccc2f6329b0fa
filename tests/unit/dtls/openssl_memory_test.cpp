#include "dtls/openssl_memory.hpp"

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <cstring>
#include <thread>

#include "dtls/dtls_transport.hpp"

// As the server does: every DTLS test in this binary runs with it.
LSS_OPENSSL_MEMORY_PREINIT();

namespace lss {
namespace {

using openssl_memory::BlockOwner;

TEST(OpensslMemory, InstalledBeforeOpensslAllocated) {
  EXPECT_TRUE(openssl_memory::installed());
}

TEST(OpensslMemory, ReleasedPagesReadAsZerosAndStayUsable) {
  BlockOwner owner;
  unsigned char* p;
  {
    BlockOwner::Scope scope(owner);
    p = static_cast<unsigned char*>(OPENSSL_malloc(20000));
  }
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xab, 20000);
  EXPECT_EQ(owner.mapped_bytes(), 20480u);
  EXPECT_EQ(owner.resident_bytes(), 20480u);
  EXPECT_EQ(owner.release_pages(), 20480u);
  EXPECT_EQ(owner.resident_bytes(), 0u);
  p[100] = 7;  // one page back
  EXPECT_EQ(owner.resident_bytes(), 4096u);
  EXPECT_EQ(p[100], 7);
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[19999], 0);
  OPENSSL_free(p);
  EXPECT_EQ(owner.mapped_bytes(), 0u);
  EXPECT_EQ(owner.release_pages(), 0u);
}

TEST(OpensslMemory, OnlyTheOwnersBlocksAreReleased) {
  BlockOwner owner, other;
  void* mine;
  void* theirs;
  {
    BlockOwner::Scope scope(owner);
    mine = OPENSSL_malloc(16384);
    {
      BlockOwner::Scope inner(other);
      theirs = OPENSSL_malloc(16384);
    }
  }
  void* nobody = OPENSSL_malloc(16384);
  void* small = nullptr;
  {
    BlockOwner::Scope scope(owner);
    small = OPENSSL_malloc(100);  // on the heap, never released
  }
  std::memset(theirs, 1, 16384);
  std::memset(nobody, 2, 16384);
  std::memset(small, 3, 100);
  owner.release_pages();
  EXPECT_EQ(static_cast<unsigned char*>(theirs)[5000], 1);
  EXPECT_EQ(static_cast<unsigned char*>(nobody)[5000], 2);
  EXPECT_EQ(static_cast<unsigned char*>(small)[50], 3);
  OPENSSL_free(mine);
  OPENSSL_free(theirs);
  OPENSSL_free(nobody);
  OPENSSL_free(small);
}

TEST(OpensslMemory, ReallocKeepsContentsAcrossTheThreshold) {
  const auto before = openssl_memory::stats();
  auto* p = static_cast<unsigned char*>(OPENSSL_malloc(100));
  for (int i = 0; i < 100; ++i) p[i] = uint8_t(i);
  p = static_cast<unsigned char*>(OPENSSL_realloc(p, 30000));  // heap -> own pages
  for (int i = 0; i < 100; ++i) ASSERT_EQ(p[i], uint8_t(i));
  for (int i = 0; i < 30000; ++i) p[i] = uint8_t(i * 7);
  p = static_cast<unsigned char*>(OPENSSL_realloc(p, 30100));  // fits the mapping: in place
  p = static_cast<unsigned char*>(OPENSSL_realloc(p, 50000));  // a larger mapping
  for (int i = 0; i < 30000; ++i) ASSERT_EQ(p[i], uint8_t(i * 7));
  EXPECT_EQ(openssl_memory::stats().blocks, before.blocks + 1);
  p = static_cast<unsigned char*>(OPENSSL_realloc(p, 50));  // back to the heap
  for (int i = 0; i < 50; ++i) ASSERT_EQ(p[i], uint8_t(i * 7));
  EXPECT_EQ(openssl_memory::stats().blocks, before.blocks);
  OPENSSL_free(p);
}

struct Pair {
  std::shared_ptr<DtlsCertificate> client_cert = DtlsCertificate::generate().value();
  std::shared_ptr<DtlsCertificate> server_cert = DtlsCertificate::generate().value();
  DtlsTransport client{client_cert, DtlsTransport::Role::kClient, "sha-256",
                       server_cert->fingerprint_sha256()};
  DtlsTransport server{server_cert, DtlsTransport::Role::kServer, "sha-256",
                       client_cert->fingerprint_sha256()};

  void pump(bool drop_server_flights = false) {
    const Timestamp now = Clock::now();
    for (int i = 0; i < 50; ++i) {
      auto c = client.take_outgoing();
      auto s = server.take_outgoing();
      if (c.empty() && s.empty()) return;
      if (drop_server_flights && server.state() == DtlsTransport::State::kConnected) s.clear();
      for (auto& d : c) server.handle_datagram(d, now);
      for (auto& d : s) client.handle_datagram(d, now);
    }
  }
};

TEST(OpensslMemory, AnIdleDtlsConnectionKeepsNoLargeBufferResident) {
  Pair p;
  p.client.start(Clock::now());
  p.pump();
  ASSERT_EQ(p.server.state(), DtlsTransport::State::kConnected);
  // The handshake buffer and the record read buffer.
  EXPECT_GE(p.server.openssl_buffers().mapped_bytes(), 40000u);
  EXPECT_EQ(p.server.openssl_buffers().resident_bytes(), 0u);
  EXPECT_EQ(p.client.openssl_buffers().resident_bytes(), 0u);
  // Records still flow both ways, then close_notify ends the other side.
  ASSERT_TRUE(p.client.send_application_data(Bytes(1000, 1)).ok());
  ASSERT_TRUE(p.server.send_application_data(Bytes(1000, 2)).ok());
  p.pump();
  EXPECT_EQ(p.server.take_received_application_data(), std::vector<Bytes>{Bytes(1000, 1)});
  EXPECT_EQ(p.client.take_received_application_data(), std::vector<Bytes>{Bytes(1000, 2)});
  EXPECT_EQ(p.server.openssl_buffers().resident_bytes(), 0u);
  p.server.close();
  p.pump();
  EXPECT_EQ(p.client.state(), DtlsTransport::State::kClosed);
}

TEST(OpensslMemory, ServerRetransmitsItsLostFinishedAfterReleasingItsBuffers) {
  Pair p;
  p.client.start(Clock::now());
  p.pump(/*drop_server_flights=*/true);  // the server's ChangeCipherSpec + Finished are lost
  ASSERT_EQ(p.server.state(), DtlsTransport::State::kConnected);
  ASSERT_NE(p.client.state(), DtlsTransport::State::kConnected);
  EXPECT_EQ(p.server.openssl_buffers().resident_bytes(), 0u);
  // The client retransmits its last flight; the server answers it from its
  // released (zeroed) handshake buffer.
  auto t = p.client.next_timeout(Clock::now());
  ASSERT_TRUE(t.has_value());
  std::this_thread::sleep_for(*t - Clock::now() + std::chrono::milliseconds(20));
  p.client.handle_timeout(Clock::now());
  p.pump();
  ASSERT_EQ(p.client.state(), DtlsTransport::State::kConnected) << p.client.error();
  EXPECT_EQ(p.client.srtp_keys()->local_master, p.server.srtp_keys()->remote_master);
  ASSERT_TRUE(p.client.send_application_data(Bytes(10, 3)).ok());
  p.pump();
  EXPECT_EQ(p.server.take_received_application_data().size(), 1u);
}

}  // namespace
}  // namespace lss
