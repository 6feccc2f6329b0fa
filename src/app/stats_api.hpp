#pragma once
// GET /api/stats[?stream=<name>&viewers=0]: per media worker, its UDP port
// and how long forwarded packets stayed in the server (cumulative bucket
// counts, so a benchmark can diff two readings); per viewer, what the server
// knows of its path (RTT, loss, its estimate) and the repairs it got.
#include "app/worker_pool.hpp"
#include "http/router.hpp"

namespace lss {

void register_stats_api(http::Router& router, WorkerPool& workers);

}  // namespace lss
