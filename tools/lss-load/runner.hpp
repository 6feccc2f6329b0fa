#pragma once
// The load run: starts publishers, ramps viewers, holds, tears down, and
// drives every peer from one thread with epoll.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "load_peer.hpp"
#include "options.hpp"
#include "proc_stats.hpp"

namespace lss::load {

// Everything the report needs once the run is over.
struct RunData {
  const Options* options = nullptr;
  PeerContext* ctx = nullptr;
  std::vector<std::unique_ptr<LoadPeer>> publishers, viewers;
  Timestamp started{}, ramp_started{}, hold_started{}, ended{};
  std::optional<ProcSample> proc_before, proc_after;
  // The server when the first viewer is started (RSS before viewers) and
  // when the hold begins (CPU over the steady state only).
  std::optional<ProcSample> proc_viewers_start, proc_hold_start;
  // RTP packets the viewers had received when the hold began.
  uint64_t rtp_at_hold_start = 0;
  // UDP drops in this network namespace over the hold.
  std::optional<UdpCounters> udp_hold_start, udp_after;
  std::string proc_error;
  // lss-load's own CPU time over the run (all threads), to tell a saturated
  // generator from a saturated server.
  double self_cpu_s = 0;
  int64_t self_max_rss_kb = 0;
  bool interrupted = false;
  // --janus: the Janus session all viewers' handles live in (destroyed at
  // teardown), and why the run could not use Janus, if it could not.
  uint64_t janus_session = 0;
  std::string janus_error;
  size_t deletes_sent = 0, deletes_ok = 0;
  // Where each viewer stood when the hold ended (signaling, ice, dtls, ...).
  std::map<std::string, size_t> viewer_states;
};

// Runs the whole test; an error only for set-up failures (epoll, HTTP pool).
Status run_load(const Options& options, PeerContext& ctx, RunData& data);

}  // namespace lss::load
