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
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dtls/dtls_transport.hpp"
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

void track(void* p, size_t n, const char* file, int line) {
  if (p && g_tracking) (*g_live)[p] = Live{n, Site{file ? file : "?", line}, g_epoch};
}
void untrack(void* p) {
  if (p && g_tracking) g_live->erase(p);
}
void* t_malloc(size_t n, const char* file, int line) {
  void* p = std::malloc(n);
  track(p, n, file, line);
  return p;
}
void* t_realloc(void* old, size_t n, const char* file, int line) {
  untrack(old);  // before realloc frees it; tracked again below if realloc fails
  void* p = std::realloc(old, n);
  track(p ? p : old, p ? n : 0, file, line);
  return p;
}
void t_free(void* p, const char*, int) {
  untrack(p);
  std::free(p);
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
  size_t heap;  // bytes in allocated chunks, all arenas
  long rss_kib;
};
Snapshot snapshot() {
  const struct mallinfo2 mi = mallinfo2();
  return {mi.uordblks + mi.hblkhd, vm_rss_kib()};
}

using lss::DtlsCertificate;
using lss::DtlsTransport;

struct Pair {
  std::unique_ptr<DtlsTransport> client, server;
};

// Shuttles datagrams both ways until neither side has anything to send.
void pump(Pair& p) {
  const lss::Timestamp now = lss::Clock::now();
  for (int i = 0; i < 50; ++i) {
    auto c = p.client ? p.client->take_outgoing() : std::vector<lss::Bytes>{};
    auto s = p.server->take_outgoing();
    if (c.empty() && s.empty()) return;
    for (auto& d : c) p.server->handle_datagram(d, now);
    if (p.client)
      for (auto& d : s) p.client->handle_datagram(d, now);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int n = 1000;
  bool sites = false, data = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--viewers" && i + 1 < argc) {
      n = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--sites") {
      sites = true;
    } else if (a == "--no-data") {
      data = false;
    } else {
      std::fprintf(stderr, "usage: %s [--viewers N] [--sites] [--no-data]\n", argv[0]);
      return 2;
    }
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
  }

  auto server_cert = DtlsCertificate::generate().value();
  auto client_cert = DtlsCertificate::generate().value();
  auto make_pair = [&] {
    Pair p;
    p.client = std::make_unique<DtlsTransport>(client_cert, DtlsTransport::Role::kClient, "sha-256",
                                               server_cert->fingerprint_sha256());
    p.server = std::make_unique<DtlsTransport>(server_cert, DtlsTransport::Role::kServer, "sha-256",
                                               client_cert->fingerprint_sha256());
    return p;
  };
  const lss::Bytes message(200, 0x42);  // a DCEP/SCTP-sized record
  auto handshake = [&](Pair& p) {
    p.client->start(lss::Clock::now());
    pump(p);
    if (p.server->state() != DtlsTransport::State::kConnected ||
        p.client->state() != DtlsTransport::State::kConnected) {
      std::fprintf(stderr, "handshake failed: server '%s' client '%s'\n", p.server->error().c_str(),
                   p.client->error().c_str());
      std::exit(1);
    }
    if (data) {
      if (!p.client->send_application_data(message).ok() ||
          !p.server->send_application_data(message).ok()) {
        std::fprintf(stderr, "application data failed\n");
        std::exit(1);
      }
      pump(p);
      if (p.server->take_received_application_data().size() != 1 ||
          p.client->take_received_application_data().size() != 1) {
        std::fprintf(stderr, "application data lost\n");
        std::exit(1);
      }
    }
  };

  // Warm up: shared SSL_CTXs, provider caches, error strings.
  for (int i = 0; i < 3; ++i) {
    Pair p = make_pair();
    handshake(p);
  }

  std::vector<Pair> pairs;
  pairs.reserve(size_t(n));
  malloc_trim(0);
  const Snapshot base = snapshot();
  g_epoch = 1;
  size_t peak_heap = 0;
  for (int i = 0; i < n; ++i) {
    pairs.push_back(make_pair());
    handshake(pairs.back());
    if (i % 64 == 0) peak_heap = std::max(peak_heap, snapshot().heap);
  }
  const Snapshot with_clients = snapshot();
  for (auto& p : pairs) p.client.reset();
  g_epoch = 2;
  const Snapshot after = snapshot();
  malloc_trim(0);
  const Snapshot trimmed = snapshot();

  auto per = [&](double bytes) { return bytes / n; };
  std::printf("viewers (server-side DtlsTransports): %d, application data: %s\n", n,
              data ? "one 200-byte record each way" : "none");
  std::printf("sizeof(DtlsTransport) %zu, sizeof(PeerConnection) %zu\n", sizeof(DtlsTransport),
              sizeof(lss::webrtc::PeerConnection));
  std::printf("%-46s %10s %10s\n", "per server-side transport", "heap B", "RSS B");
  std::printf("%-46s %10.0f %10.0f\n", "peak during handshakes (server+client)",
              per(double(peak_heap) - double(base.heap)), 0.0);
  std::printf("%-46s %10.0f %10.0f\n", "servers + clients connected",
              per(double(with_clients.heap) - double(base.heap)),
              per((with_clients.rss_kib - base.rss_kib) * 1024.0));
  std::printf("%-46s %10.0f %10.0f\n", "servers only (clients destroyed)",
              per(double(after.heap) - double(base.heap)),
              per((after.rss_kib - base.rss_kib) * 1024.0));
  std::printf("%-46s %10.0f %10.0f\n", "servers only, after malloc_trim(0)",
              per(double(trimmed.heap) - double(base.heap)),
              per((trimmed.rss_kib - base.rss_kib) * 1024.0));

  if (sites) {
    // Live OpenSSL allocations made since the baseline: the clients' are gone,
    // so what is left belongs to the servers.
    std::map<std::string, std::pair<size_t, size_t>> by_site;  // bytes, count
    size_t total = 0, count = 0;
    for (const auto& [ptr, l] : *g_live) {
      if (l.epoch == 0) continue;
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
    std::vector<std::pair<std::string, std::pair<size_t, size_t>>> rows(by_site.begin(),
                                                                        by_site.end());
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    std::printf("\nlive OpenSSL allocations per server-side transport: %.0f bytes in %.1f blocks\n",
                per(double(total)), per(double(count)));
    std::printf("%10s %7s  %s\n", "bytes", "blocks", "allocated at");
    for (const auto& [site, e] : rows) {
      if (per(double(e.first)) < 8) continue;
      std::printf("%10.0f %7.2f  %s\n", per(double(e.first)), per(double(e.second)), site.c_str());
    }
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
