#pragma once
// GET /metrics: Prometheus text exposition format 0.0.4 (metrics/
// text_writer.hpp). Each media worker's engine is read on its own thread,
// as /api/stats does; the rest (HTTP requests, the spool, the catalog,
// latency and busy time) from the control thread. Server-wide totals only:
// no per-stream or per-viewer labels, so the number of series stays fixed.
#include <array>
#include <cstdint>

#include "app/worker_pool.hpp"
#include "catalog/counting_catalog.hpp"
#include "hls/hls_registry.hpp"
#include "http/router.hpp"
#include "metrics/text_writer.hpp"
#include "net/latency_histogram.hpp"
#include "record/recording_stats.hpp"
#include "storage/uploader.hpp"

namespace lss {

struct MetricsSources {
  WorkerPool& workers;
  const http::Router& router;  // for its request counts
  const storage::Uploader& uploader;
  const catalog::CountingCatalog& catalog;
  const record::RecordingStats* recording = nullptr;  // null: RECORD_STREAMS off
  const hls::HlsRegistry* hls = nullptr;              // null: HLS=false
};

void register_metrics_api(http::Router& router, MetricsSources sources);

// The forwarding-latency buckets in seconds, one per octave: a
// LatencyHistogram bucket i holds waits in [2^(i/4) - 1, 2^((i+1)/4) - 1) µs,
// so buckets 4k..4k+3 together are exactly the waits under 2^(k+1) - 1 µs.
// The last octave (its last bucket takes everything longer) goes to +Inf.
metrics::Histogram latency_seconds(
    const std::array<uint64_t, net::LatencyHistogram::kBuckets>& counts, uint64_t sum_us);

}  // namespace lss
