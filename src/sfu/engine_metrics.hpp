#pragma once
// What GET /metrics reads of one engine, on its worker's thread: gauges of
// what is there now, and counters that include what departed peers and
// streams did (the engine keeps their totals as they go), so no counter goes
// down when someone leaves. Read at scrape time from counters the peers and
// streams keep anyway: nothing is added to the per-packet path.
#include <cstdint>

namespace lss::sfu {

struct EngineMetrics {
  // Gauges.
  uint64_t streams = 0;     // live streams published here (not relays)
  uint64_t publishers = 0;  // open publisher peers (with an incoming source in a switch)
  uint64_t viewers = 0;     // open viewer peers (relays' included)
  uint64_t relays = 0;      // relays here of streams published on other workers
  // Counters.
  uint64_t rtp_in = 0, rtp_out = 0;  // RTP packets received (decrypted) and sent, every peer
  uint64_t nacks_received = 0;       // NACK messages from viewers
  uint64_t retransmitted = 0;        // packets resent to viewers (repairs)
  uint64_t plis_sent = 0;            // keyframe requests (PLI) sent to publishers
  uint64_t packets_lost = 0;         // video lost toward viewers, as their receiver reports say
  uint64_t dtls_failures = 0;        // peers whose DTLS handshake failed

  // Adds the counters (not the gauges) of `o`.
  void add_counters(const EngineMetrics& o) {
    rtp_in += o.rtp_in;
    rtp_out += o.rtp_out;
    nacks_received += o.nacks_received;
    retransmitted += o.retransmitted;
    plis_sent += o.plis_sent;
    packets_lost += o.packets_lost;
    dtls_failures += o.dtls_failures;
  }
};

}  // namespace lss::sfu
