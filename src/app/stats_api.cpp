#include "app/stats_api.hpp"

#include <mutex>
#include <nlohmann/json.hpp>

#include "net/latency_histogram.hpp"
#include "net/media_worker.hpp"

namespace lss {

namespace {

using nlohmann::json;

json worker_json(WorkerPool& workers, size_t i) {
  const auto counts = workers.worker(i).forwarding_latency().snapshot();
  json buckets = json::array();
  uint64_t total = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    if (!counts[b]) continue;
    buckets.push_back({net::LatencyHistogram::upper_us(b), counts[b]});
    total += counts[b];
  }
  return {{"index", i},
          {"udp_port", workers.worker(i).port()},
          {"send_path", workers.worker(i).send_path_name()},
          {"udp_datagrams_sent", workers.worker(i).udp_datagrams_sent()},
          {"udp_messages_sent", workers.worker(i).udp_messages_sent()},
          {"udp_connected_sockets", workers.worker(i).connected_sockets()},
          {"udp_xdp_frames", workers.worker(i).xdp_frames()},
          {"udp_xdp_fallbacks", workers.worker(i).xdp_fallbacks()},
          {"paced_datagrams", workers.worker(i).paced_total()},
          {"paced_held", workers.worker(i).paced_held()},
          {"paced_pool_full", workers.worker(i).paced_pool_full()},
          {"forwarding_latency_us",
           {{"datagrams", total},
            {"p50", net::LatencyHistogram::quantile_us(counts, 0.5)},
            {"p99", net::LatencyHistogram::quantile_us(counts, 0.99)},
            {"buckets", buckets}}}};
}

json viewer_json(const sfu::ViewerStats& v, size_t worker) {
  return {{"stream", v.stream},
          {"session", v.session_id},
          {"worker", worker},
          {"connected", v.connected},
          {"rtt_ms", v.rtt_ms ? json(*v.rtt_ms) : json(nullptr)},
          {"fraction_lost", v.fraction_lost},
          {"packets_lost", v.packets_lost},
          {"estimate_bps", v.estimate_bps},
          {"remb_bps", v.remb_bps},
          {"transport_cc", v.transport_cc},
          {"acked_bps", v.acked_bps},
          {"delay_based_bps", v.delay_based_bps},
          {"loss_based_bps", v.loss_based_bps},
          {"delay_state", v.delay_state},
          {"loss_fraction_twcc", v.loss_fraction_twcc},
          {"probes", v.probes},
          {"last_probe_bps", v.last_probe_bps},
          {"probe_bytes", v.probe_bytes},
          {"redundant_repairs", v.redundant_repairs},
          {"layer", v.layer},
          {"target_layer", v.target_layer},
          {"layers", v.layers},
          {"layer_switches", v.layer_switches},
          {"temporal_layer", v.temporal_layer},
          {"dropped_temporal", v.dropped_temporal},
          {"retransmit_budget_bps", v.retransmit_budget_bps},
          {"rtx", v.rtx},
          {"nacks", v.nacks},
          {"nacked_packets", v.nacked_packets},
          {"resent", v.resent},
          {"resend_holdoff", v.resend_holdoff},
          {"resend_over_budget", v.resend_over_budget},
          {"resend_not_cached", v.resend_not_cached},
          {"plis", v.plis},
          {"plis_forwarded", v.plis_forwarded},
          {"rtp_packets_out", v.rtp_out},
          {"bytes_out", v.bytes_out},
          {"ice_restarts", v.ice_restarts},
          {"address_changes", v.address_changes}};
}

}  // namespace

void register_stats_api(http::Router& router, WorkerPool& workers) {
  router.add("/api/stats", [&workers](const http::Request& req, const http::RequestContext&,
                                      http::Responder respond) {
    const std::string stream = http::query_param(req.target(), "stream");
    const bool with_viewers = http::query_param(req.target(), "viewers") != "0";
    json out;
    out["media_workers"] = json::array();
    for (size_t i = 0; i < workers.size(); ++i)
      out["media_workers"].push_back(worker_json(workers, i));
    if (!with_viewers) {
      return respond(
          http::make_response(req, http::Status::ok, out.dump() + "\n", "application/json"));
    }
    struct Gathered {
      std::mutex mutex;  // workers add their viewers concurrently
      json viewers = json::array();
    };
    auto g = std::make_shared<Gathered>();
    workers.run_on_all(
        [g, stream](sfu::Engine& engine) {
          auto stats = engine.viewer_stats(stream);
          std::lock_guard lock(g->mutex);
          for (const auto& v : stats) g->viewers.push_back(viewer_json(v, engine.worker_index()));
        },
        [g, out = std::move(out), req, respond]() mutable {
          out["viewers"] = std::move(g->viewers);
          respond(
              http::make_response(req, http::Status::ok, out.dump() + "\n", "application/json"));
        });
  });
}

}  // namespace lss
