// The per-packet path allocates nothing (nor does feedback processing):
// counted with a replacement global operator new for this test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "cc/send_side_bwe.hpp"

namespace {
std::atomic<uint64_t> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace lss::cc {
namespace {

TEST(SendSideBwe, HotPathDoesNotAllocate) {
  const Timestamp t0 = Timestamp{} + std::chrono::hours(1);
  SendSideBwe bwe;
  // Feedback built up front: the caller's parser owns that allocation.
  TransportCcFeedback fb;
  for (int i = 0; i < 100; ++i) fb.packets.push_back({uint16_t(i), i % 7 != 0, 40});

  // The sent-packet ring is allocated with the first packet numbered, once.
  uint16_t seq = 0;
  bwe.on_packet_sent(seq++, 1200, t0 - std::chrono::milliseconds(10), -1);
  const uint64_t before = g_allocations.load();
  for (int round = 0; round < 1000; ++round) {
    const Timestamp now = t0 + std::chrono::milliseconds(round * 10);
    for (int k = 0; k < 100; ++k) bwe.on_packet_sent(seq++, 1200, now, round % 10 == 0 ? 1 : -1);
    fb.base_seq = uint16_t(seq - 100);
    for (int i = 0; i < 100; ++i) fb.packets[size_t(i)].seq = uint16_t(fb.base_seq + i);
    fb.reference_time = round;
    bwe.on_transport_feedback(fb, now + std::chrono::milliseconds(60));
    bwe.on_rtt(std::chrono::milliseconds(60), now);
    bwe.on_remb(5'000'000, now);
    bwe.request_probe(bwe.target_bps() * 2, now);
    (void)bwe.probe_to_send(now);
    (void)bwe.stats();
  }
  EXPECT_EQ(g_allocations.load(), before);
}

}  // namespace
}  // namespace lss::cc
