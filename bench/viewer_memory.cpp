// Memory that stays allocated per viewer after its DTLS handshake.
//
// Creates N server-side DtlsTransports (as the SFU has one per viewer) and N
// matching clients in one process, runs every handshake to completion in
// memory, exchanges one small application record each way (as a data channel
// would), destroys the clients and reports, per server-side transport:
//   - heap bytes in use (mallinfo2().uordblks) and their growth,
//   - the VmRSS growth (what the fan-out benchmark and operators see), before
//     and after malloc_trim(0),
//   - with --sites, the live OpenSSL allocations by source line (OpenSSL 3
//     passes file and line to CRYPTO_set_mem_functions hooks), which is how
//     each byte is attributed.
// Then it closes the servers (close_notify must still go out) and checks
// that everything is freed.
//
//   build/lss-viewer-memory [--viewers N] [--sites] [--no-data]
//   make bench-memory
#include <malloc.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dtls/dtls_transport.hpp"
#include "dtls/openssl_memory.hpp"
#include "srtp/srtp_session.hpp"
#include "webrtc/peer_connection.hpp"

namespace {

// ---- OpenSSL allocation tracker (only with --sites) ----------------------
struct Site {
  const char* file;
  int line;
};
struct Live {
  size_t size;
  Site site;
  int epoch;
};
bool g_tracking = false;
int g_epoch = 0;
std::unordered_map<void*, Live>* g_live = nullptr;
std::mutex g_live_mutex;

void track(void* p, size_t n, const char* file, int line) {
  if (!p || !g_tracking) return;
  std::lock_guard lock(g_live_mutex);
  (*g_live)[p] = Live{n, Site{file ? file : "?", line}, g_epoch};
}
void untrack(void* p) {
  if (!p || !g_tracking) return;
  std::lock_guard lock(g_live_mutex);
  g_live->erase(p);
}
// Wrap the server's allocator (openssl_memory), as installed by main.
void* t_malloc(size_t n, const char* file, int line) {
  void* p = lss::openssl_memory::allocate(n, file, line);
  track(p, n, file, line);
  return p;
}
void* t_realloc(void* old, size_t n, const char* file, int line) {
  untrack(old);  // before realloc frees it; tracked again below if realloc fails
  void* p = lss::openssl_memory::reallocate(old, n, file, line);
  track(p ? p : old, p ? n : 0, file, line);
  return p;
}
void t_free(void* p, const char* file, int line) {
  untrack(p);
  lss::openssl_memory::deallocate(p, file, line);
}

// ---- process measurements ------------------------------------------------
long vm_rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}
struct Snapshot {
  size_t heap;    // bytes in allocated malloc chunks, all arenas
  size_t mapped;  // OpenSSL's large blocks on their own pages (openssl_memory)
  long rss_kib;
};
Snapshot snapshot() {
  const struct mallinfo2 mi = mallinfo2();
  return {mi.uordblks + mi.hblkhd, lss::openssl_memory::stats().bytes, vm_rss_kib()};
}

using lss::DtlsCertificate;
using lss::DtlsTransport;

// The clients live on their own thread, hence in their own malloc arena, so
// that their memory does not interleave with the servers' in the main arena
// (in the real server the viewers are other processes).
class ClientThread {
 public:
  ClientThread() : thread_([this] { loop(); }) {}
  ~ClientThread() {
    run([this] { stop_ = true; });
    thread_.join();
  }
  void run(std::function<void()> job) {
    std::unique_lock lock(mutex_);
    job_ = std::move(job);
    cv_.notify_all();
    cv_.wait(lock, [&] { return !job_; });
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      cv_.wait(lock, [&] { return bool(job_); });
      job_();
      job_ = nullptr;
      cv_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool stop_ = false;
  std::thread thread_;
};

struct Pair {
  std::unique_ptr<DtlsTransport> client, server;
};

// Shuttles datagrams both ways until neither side has anything to send.
void pump(Pair& p, ClientThread& clients) {
  const lss::Timestamp now = lss::Clock::now();
  for (int i = 0; i < 50; ++i) {
    std::vector<lss::Bytes> c;
    clients.run([&] { c = p.client->take_outgoing(); });
    auto s = p.server->take_outgoing();
    if (c.empty() && s.empty()) return;
    for (auto& d : c) p.server->handle_datagram(d, now);
    clients.run([&] {
      for (auto& d : s) p.client->handle_datagram(d, now);
      c.clear();  // freed in the client arena
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  int n = 1000;
  bool sites = false, data = true, large_blocks = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--viewers" && i + 1 < argc) {
      n = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--sites") {
      sites = true;
    } else if (a == "--no-data") {
      data = false;
    } else if (a == "--malloc-only") {
      large_blocks = false;  // OpenSSL's default allocator, as before openssl_memory
    } else {
      std::fprintf(stderr, "usage: %s [--viewers N] [--sites] [--no-data] [--malloc-only]\n",
                   argv[0]);
      return 2;
    }
  }
  if (sites && !large_blocks) {
    std::fprintf(stderr, "--sites needs the large-block allocator\n");
    return 2;
  }
  if (sites) {
    // Must precede OpenSSL's first allocation.
    if (!CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free)) {
      std::fprintf(stderr, "CRYPTO_set_mem_functions failed (OpenSSL already allocated)\n");
      return 1;
    }
    g_live = new std::unordered_map<void*, Live>();
    g_live->reserve(size_t(n) * 400);  // no rehash noise inside the measured span
    g_tracking = true;
  } else if (large_blocks && !lss::openssl_memory::install()) {
    std::fprintf(stderr, "openssl_memory::install failed (OpenSSL already allocated)\n");
    return 1;
  }

  auto server_cert = DtlsCertificate::generate().value();
  auto client_cert = DtlsCertificate::generate().value();
  ClientThread clients;
  auto make_pair = [&] {
    Pair p;
    clients.run([&] {
      p.client = std::make_unique<DtlsTransport>(client_cert, DtlsTransport::Role::kClient,
                                                 "sha-256", server_cert->fingerprint_sha256());
    });
    p.server = std::make_unique<DtlsTransport>(server_cert, DtlsTransport::Role::kServer, "sha-256",
                                               client_cert->fingerprint_sha256());
    return p;
  };
  const lss::Bytes message(200, 0x42);  // a DCEP/SCTP-sized record
  auto handshake = [&](Pair& p) {
    clients.run([&] { p.client->start(lss::Clock::now()); });
    pump(p, clients);
    if (p.server->state() != DtlsTransport::State::kConnected ||
        p.client->state() != DtlsTransport::State::kConnected) {
      std::fprintf(stderr, "handshake failed: server '%s' client '%s'\n", p.server->error().c_str(),
                   p.client->error().c_str());
      std::exit(1);
    }
    if (data) {
      bool ok = true;
      clients.run([&] { ok = p.client->send_application_data(message).ok(); });
      if (!ok || !p.server->send_application_data(message).ok()) {
        std::fprintf(stderr, "application data failed\n");
        std::exit(1);
      }
      pump(p, clients);
      size_t got = 0;
      clients.run([&] { got = p.client->take_received_application_data().size(); });
      if (p.server->take_received_application_data().size() != 1 || got != 1) {
        std::fprintf(stderr, "application data lost\n");
        std::exit(1);
      }
    }
  };

  // Warm up: shared SSL_CTXs, provider caches, error strings.
  for (int i = 0; i < 3; ++i) {
    Pair p = make_pair();
    handshake(p);
    clients.run([&] { p.client.reset(); });
  }

  std::vector<Pair> pairs;
  pairs.reserve(size_t(n));
  malloc_trim(0);
  const Snapshot base = snapshot();
  g_epoch = 1;
  size_t peak = 0;  // heap + large blocks, sampled
  for (int i = 0; i < n; ++i) {
    pairs.push_back(make_pair());
    handshake(pairs.back());
    if (i % 16 == 0) {
      const Snapshot s = snapshot();
      peak = std::max(peak, s.heap + s.mapped);
    }
  }
  const Snapshot with_clients = snapshot();
  clients.run([&] {
    for (auto& p : pairs) p.client.reset();
  });
  g_epoch = 2;
  const Snapshot after = snapshot();
  malloc_trim(0);
  const Snapshot trimmed = snapshot();

  auto per = [&](double bytes) { return bytes / n; };
  std::printf(
      "viewers (server-side DtlsTransports): %d, application data: %s, OpenSSL's large "
      "blocks: %s\n",
      n, data ? "one 200-byte record each way" : "none",
      large_blocks ? "own pages, released when idle" : "malloc");
  std::printf("sizeof(DtlsTransport) %zu, sizeof(PeerConnection) %zu\n", sizeof(DtlsTransport),
              sizeof(lss::webrtc::PeerConnection));
  std::printf("%-40s %9s %9s %9s %9s\n", "bytes per server-side transport", "malloc", "large",
              "total", "RSS");
  std::printf("%-40s %9s %9s %9.0f %9s\n", "peak during handshakes (with clients)", "", "",
              per(double(peak) - double(base.heap + base.mapped)), "");
  auto row = [&](const char* label, const Snapshot& s) {
    const double heap = per(double(s.heap) - double(base.heap));
    const double mapped = per(double(s.mapped) - double(base.mapped));
    std::printf("%-40s %9.0f %9.0f %9.0f %9.0f\n", label, heap, mapped, heap + mapped,
                per((s.rss_kib - base.rss_kib) * 1024.0));
  };
  row("servers + clients connected", with_clients);
  row("servers only (clients destroyed)", after);
  row("servers only, after malloc_trim(0)", trimmed);
  size_t resident = 0;
  for (const auto& p : pairs) resident += p.server->openssl_buffers().resident_bytes();
  std::printf("%-40s %9s %9.0f\n", "  of the large blocks, resident", "", per(double(resident)));

  // Live OpenSSL allocations tagged `epoch`, by source line, per viewer.
  auto print_sites = [&](int epoch, const char* what) {
    std::map<std::string, std::pair<size_t, size_t>> by_site;  // bytes, count
    size_t total = 0, count = 0;
    {
      std::lock_guard lock(g_live_mutex);
      for (const auto& [ptr, l] : *g_live) {
        if (l.epoch != epoch) continue;
        std::string file = l.site.file;
        if (auto k = file.find("ssl/");
            k != std::string::npos && file.rfind("crypto/", k) == std::string::npos)
          file = file.substr(k);
        else if (auto c = file.find("crypto/"); c != std::string::npos)
          file = file.substr(c);
        else if (auto pv = file.find("providers/"); pv != std::string::npos)
          file = file.substr(pv);
        auto& e = by_site[file + ":" + std::to_string(l.site.line)];
        e.first += l.size;
        e.second++;
        total += l.size;
        count++;
      }
    }
    std::vector<std::pair<std::string, std::pair<size_t, size_t>>> rows(by_site.begin(),
                                                                        by_site.end());
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    std::printf("\nlive OpenSSL allocations per %s: %.0f bytes in %.1f blocks\n", what,
                per(double(total)), per(double(count)));
    std::printf("%10s %7s  %s\n", "bytes", "blocks", "allocated at");
    for (const auto& [site, e] : rows) {
      if (per(double(e.first)) < 8) continue;
      std::printf("%10.0f %7.2f  %s\n", per(double(e.first)), per(double(e.second)), site.c_str());
    }
  };
  // Made since the baseline and still live: the clients' are gone, so what
  // is left belongs to the servers.
  if (sites) print_sites(1, "server-side transport");

  // The SRTP sessions each viewer gets from its keys: inbound (its RTCP) and
  // outbound (video, audio and video retransmissions, and our RTCP).
  {
    std::vector<std::unique_ptr<lss::SrtpSession>> srtp;
    srtp.reserve(size_t(2 * n));
    const Snapshot before_srtp = snapshot();
    g_epoch = 3;
    uint8_t packet[1300] = {0x80, 96};
    for (auto& p : pairs) {
      const auto& keys = *p.server->srtp_keys();
      srtp.push_back(lss::SrtpSession::create(keys.profile, keys.remote_master,
                                              lss::SrtpSession::Direction::kInbound)
                         .value());
      srtp.push_back(lss::SrtpSession::create(keys.profile, keys.local_master,
                                              lss::SrtpSession::Direction::kOutbound)
                         .value());
      for (uint32_t ssrc : {0x1111u, 0x2222u, 0x3333u}) {
        packet[8] = uint8_t(ssrc >> 24), packet[9] = uint8_t(ssrc >> 16);
        packet[10] = uint8_t(ssrc >> 8), packet[11] = uint8_t(ssrc);
        size_t len = 1000;
        if (!srtp.back()->protect_rtp(packet, len, sizeof packet).ok()) std::exit(1);
      }
    }
    const Snapshot with_srtp = snapshot();
    std::printf("\nSRTP sessions (in + out, 3 outbound SSRCs) per viewer: %.0f B heap\n",
                per(double(with_srtp.heap) - double(before_srtp.heap)));
    if (sites) print_sites(3, "viewer's SRTP sessions");
  }

  // Behaviour kept: every server still sends a close_notify, and everything
  // is freed with the transports.
  size_t close_notifies = 0;
  for (auto& p : pairs) {
    p.server->close();
    for (auto& d : p.server->take_outgoing()) close_notifies += (!d.empty() && d[0] == 21);
  }
  pairs.clear();
  malloc_trim(0);
  const Snapshot end = snapshot();
  std::printf("\nclose_notify alerts sent: %zu of %d; heap left after freeing all: %.0f B/viewer\n",
              close_notifies, n, per(double(end.heap) - double(base.heap)));
  return close_notifies == size_t(n) ? 0 : 1;
}
