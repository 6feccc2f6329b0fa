// Micro benchmarks of the per-packet path (Google Benchmark). Speed is
// measured here, never asserted in tests. Run: make bench
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>

#include "codec/keyframe.hpp"
#include "common/random.hpp"
#include "rtp/retransmission_buffer.hpp"
#include "rtp/rtp_packet.hpp"
#include "sfu/relay_link.hpp"
#include "srtp/srtp_session.hpp"
#include "stun/ice_lite_agent.hpp"
#include "stun/stun_message.hpp"

namespace lss {
namespace {

// A 1200-byte VP8 RTP packet with abs-send-time and transport-cc extensions.
std::array<uint8_t, 1300> make_packet(size_t& size) {
  std::array<uint8_t, 1300> p{};
  const uint8_t header[] = {0x90, 96,   0x12, 0x34, 0,    0, 0x10, 0, 0xca, 0xfe, 0xba, 0xbe,
                            0xBE, 0xDE, 0x00, 0x02, 0x22, 1, 2,    3, 0x31, 0x00, 0x07, 0x00};
  std::memcpy(p.data(), header, sizeof header);
  p[sizeof header] = 0x10;
  p[sizeof header + 1] = 0x51;
  size = 1200;
  return p;
}

void BM_RtpParse(benchmark::State& state) {
  size_t size;
  auto p = make_packet(size);
  for (auto _ : state) {
    RtpPacket pkt;
    benchmark::DoNotOptimize(RtpPacket::parse(p.data(), size, pkt));
    benchmark::DoNotOptimize(pkt.find_extension(3));
  }
}
BENCHMARK(BM_RtpParse);

void BM_HeaderRewrite(benchmark::State& state) {
  size_t size;
  auto p = make_packet(size);
  std::array<uint8_t, 256> map{};
  map[2] = 5;
  map[3] = 0;
  for (auto _ : state) {
    RtpPacket pkt;
    RtpPacket::parse(p.data(), size, pkt);
    pkt.set_payload_type(100);
    pkt.set_ssrc(0x1234);
    pkt.remap_extension_ids(map);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_HeaderRewrite);

void BM_SrtpProtect(benchmark::State& state) {
  const auto profile = SrtpProfile(state.range(0));
  Bytes master(srtp_key_length(profile) + srtp_salt_length(profile), 7);
  auto session = SrtpSession::create(profile, master, SrtpSession::Direction::kOutbound).value();
  size_t size;
  auto p = make_packet(size);
  uint16_t seq = 0;
  for (auto _ : state) {
    store_be16(p.data() + 2, seq++);
    size_t len = size;
    benchmark::DoNotOptimize(session->protect_rtp(p.data(), len, p.size()).ok());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}
BENCHMARK(BM_SrtpProtect)
    ->Arg(int(SrtpProfile::kAes128CmSha1_80))
    ->Arg(int(SrtpProfile::kAeadAes128Gcm));

// What one viewer costs per packet: copy, rewrite, encrypt (the send itself is a syscall).
void BM_ForwardStep(benchmark::State& state) {
  Bytes master(28, 9);
  auto session =
      SrtpSession::create(SrtpProfile::kAeadAes128Gcm, master, SrtpSession::Direction::kOutbound)
          .value();
  size_t size;
  auto src = make_packet(size);
  std::array<uint8_t, 1500> scratch;
  std::array<uint8_t, 256> map{};
  for (int i = 0; i < 256; ++i) map[size_t(i)] = uint8_t(i);
  uint16_t seq = 0;
  for (auto _ : state) {
    store_be16(src.data() + 2, seq++);
    std::memcpy(scratch.data(), src.data(), size);
    RtpPacket pkt;
    RtpPacket::parse(scratch.data(), size, pkt);
    pkt.set_payload_type(100);
    pkt.remap_extension_ids(map);
    size_t len = size;
    benchmark::DoNotOptimize(session->protect_rtp(scratch.data(), len, scratch.size()).ok());
  }
}
BENCHMARK(BM_ForwardStep);

void BM_RetransmissionCacheStore(benchmark::State& state) {
  RetransmissionBuffer cache(1024);
  size_t size;
  auto p = make_packet(size);
  uint16_t seq = 0;
  const Timestamp now = Clock::now();
  for (auto _ : state) cache.store(ByteSpan(p.data(), size), seq++, now);
}
BENCHMARK(BM_RetransmissionCacheStore);

// Cross-worker fan-out: what a relay costs per packet, the origin's copy
// into the ring and the relay's read (single thread, so no cache-line
// transfer between cores is counted).
void BM_RelayHandOff(benchmark::State& state) {
  sfu::RelayLink link([] {});
  size_t size;
  auto p = make_packet(size);
  const Timestamp now = Clock::now();
  size_t drained = 0;
  for (auto _ : state) {
    link.ring.push(1, p.data(), size, now);
    link.ring.drain([&](record::PacketRing::Slot& s) { drained += s.size; });
  }
  benchmark::DoNotOptimize(drained);
}
BENCHMARK(BM_RelayHandOff);

void BM_KeyframeDetect(benchmark::State& state) {
  const uint8_t vp8[] = {0x90, 0x80, 0x81, 0x23, 0x50, 0x42};
  for (auto _ : state)
    benchmark::DoNotOptimize(codec::is_keyframe_start(codec::VideoCodec::kVP8, vp8));
}
BENCHMARK(BM_KeyframeDetect);

void BM_StunCheck(benchmark::State& state) {
  const Timestamp t0 = Clock::now();
  IceLiteAgent agent("srv1", "serverpassword0123456789", "cli1", t0);
  TransactionId txid{1, 2, 3};
  const Bytes req = StunBuilder(stun::kBindingRequest, txid)
                        .add_string(stun::kAttrUsername, "srv1:cli1")
                        .add_u32(stun::kAttrPriority, 1)
                        .add(stun::kAttrUseCandidate, {})
                        .finish("serverpassword0123456789", true);
  const auto from = *SocketAddress::parse("192.0.2.1", 5000);
  for (auto _ : state) benchmark::DoNotOptimize(agent.handle_stun(req, from, t0).authenticated);
}
BENCHMARK(BM_StunCheck);

}  // namespace
}  // namespace lss

namespace {
constexpr int kViewers = 64;

// One sendmmsg batch: a 1200-byte datagram to each of kViewers addresses,
// as a media worker sends a packet's copies.
struct SendBatch {
  explicit SendBatch(sockaddr_in* addrs) {
    for (int i = 0; i < kViewers; ++i) {
      iovs[i] = {payload.data(), payload.size()};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  int send(int fd) { return sendmmsg(fd, msgs, kViewers, MSG_DONTWAIT); }

  std::array<uint8_t, 1200> payload{};
  iovec iovs[kViewers];
  mmsghdr msgs[kViewers];
};
}  // namespace

// The kernel's share of forwarding: one 1200-byte datagram per viewer to
// loopback, sent 64 at a time with sendmmsg as the media worker does (each
// to its own port, as viewers have). Counter: time per datagram.
static void BM_SendmmsgLoopback(benchmark::State& state) {
  const int tx = socket(AF_INET, SOCK_DGRAM, 0);
  int rx[kViewers];
  sockaddr_in addrs[kViewers];
  for (int i = 0; i < kViewers; ++i) {
    rx[i] = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(rx[i], reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(rx[i], reinterpret_cast<sockaddr*>(&a), &len);
    addrs[i] = a;
  }
  SendBatch batch(addrs);
  uint8_t drain[2048];
  for (auto _ : state) {
    benchmark::DoNotOptimize(batch.send(tx));
    state.PauseTiming();  // the viewers' receive is not the server's cost
    for (int i = 0; i < kViewers; ++i) {
      while (recv(rx[i], drain, sizeof drain, MSG_DONTWAIT) > 0) {
      }
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kViewers);
  for (int fd : rx) close(fd);
  close(tx);
}
BENCHMARK(BM_SendmmsgLoopback);

// The send alone, without loopback's delivery to a receiving socket (which
// the kernel runs on the sender's CPU): the same batches to an address routed
// to a tun device that no process reads (no carrier), so they are dropped at
// its queue, about where a NIC driver would take over. Needs
// LSS_BENCH_TUN_DEST (bench/run-hot-path sets up the device in a private
// network namespace).
static void BM_SendmmsgTunDevice(benchmark::State& state) {
  const char* dest = std::getenv("LSS_BENCH_TUN_DEST");
  sockaddr_in to{};
  to.sin_family = AF_INET;
  if (!dest || inet_pton(AF_INET, dest, &to.sin_addr) != 1) {
    state.SkipWithError("LSS_BENCH_TUN_DEST not set (run through bench/run-hot-path as root)");
    return;
  }
  const int tx = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addrs[kViewers];
  for (int i = 0; i < kViewers; ++i) {
    addrs[i] = to;
    addrs[i].sin_port = htons(uint16_t(20000 + i));
  }
  SendBatch batch(addrs);
  for (auto _ : state) benchmark::DoNotOptimize(batch.send(tx));
  state.SetItemsProcessed(state.iterations() * kViewers);
  close(tx);
}
BENCHMARK(BM_SendmmsgTunDevice);

BENCHMARK_MAIN();
