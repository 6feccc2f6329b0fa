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
  std::string proc_error;
  // lss-load's own CPU time over the run (all threads), to tell a saturated
  // generator from a saturated server.
  double self_cpu_s = 0;
  int64_t self_max_rss_kb = 0;
  bool interrupted = false;
  size_t deletes_sent = 0, deletes_ok = 0;
  // Where each viewer stood when the hold ended (signaling, ice, dtls, ...).
  std::map<std::string, size_t> viewer_states;
};

// Runs the whole test; an error only for set-up failures (epoll, HTTP pool).
Status run_load(const Options& options, PeerContext& ctx, RunData& data);

}  // namespace lss::load
