#include "app/metrics_api.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "net/media_worker.hpp"
#include "sfu/engine_metrics.hpp"

namespace lss {

namespace {

using metrics::Type;

// What one worker's thread gathers for a scrape.
struct WorkerSample {
  sfu::EngineMetrics engine;
  uint64_t bytes_in = 0, bytes_out = 0;
  uint64_t udp_datagrams = 0, udp_messages = 0;  // read together, on the worker
};

void write_media(metrics::TextWriter& w, const std::vector<WorkerSample>& samples,
                 WorkerPool& workers) {
  sfu::EngineMetrics m;
  uint64_t bytes_in = 0, bytes_out = 0;
  for (const auto& s : samples) {
    m.add_counters(s.engine);
    m.streams += s.engine.streams;
    m.publishers += s.engine.publishers;
    m.viewers += s.engine.viewers;
    m.relays += s.engine.relays;
    bytes_in += s.bytes_in;
    bytes_out += s.bytes_out;
  }
  w.gauge("lss_streams", "Live streams (publishers connected or connecting).", double(m.streams));
  w.family("lss_peers", Type::kGauge,
           "Open WebRTC peers by role; relay: a stream's relay on another media worker.");
  w.sample({{"role", "publisher"}}, double(m.publishers));
  w.sample({{"role", "viewer"}}, double(m.viewers));
  w.sample({{"role", "relay"}}, double(m.relays));
  w.family("lss_bytes_total", Type::kCounter,
           "Bytes the media workers received and sent (UDP and ICE-TCP: RTP, RTCP, STUN, DTLS).");
  w.sample({{"direction", "in"}}, double(bytes_in));
  w.sample({{"direction", "out"}}, double(bytes_out));
  w.family("lss_rtp_packets_total", Type::kCounter, "RTP packets received and sent (SRTP).");
  w.sample({{"direction", "in"}}, double(m.rtp_in));
  w.sample({{"direction", "out"}}, double(m.rtp_out));
  w.counter("lss_nacks_received_total", "NACK messages received from viewers.",
            double(m.nacks_received));
  w.counter("lss_retransmitted_packets_total", "Packets resent to viewers in answer to NACKs.",
            double(m.retransmitted));
  w.counter("lss_plis_sent_total", "PLI keyframe requests sent to publishers.",
            double(m.plis_sent));
  // Keyframes are asked for with PLI only; the family is kept so dashboards
  // need not change if FIR is ever sent.
  w.counter("lss_firs_sent_total", "FIR keyframe requests sent to publishers.", 0);
  w.counter("lss_packets_lost_total",
            "Video packets lost toward viewers, from their receiver reports (cumulative per "
            "viewer, summed; viewers gone included).",
            double(m.packets_lost));
  w.counter("lss_dtls_handshake_failures_total", "Peers whose DTLS handshake failed.",
            double(m.dtls_failures));

  std::array<uint64_t, net::LatencyHistogram::kBuckets> counts{};
  uint64_t sum_us = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    const auto& h = workers.worker(i).forwarding_latency();
    const auto c = h.snapshot();
    for (size_t b = 0; b < c.size(); ++b) counts[b] += c[b];
    sum_us += h.sum_us();
  }
  w.family("lss_forwarding_latency_seconds", Type::kHistogram,
           "Time forwarded packets stayed in the server, from their receive batch (or relay "
           "hand-off) to the send that carried them.");
  w.histogram({}, latency_seconds(counts, sum_us));

  w.family("lss_worker_busy_seconds_total", Type::kCounter,
           "Time each media worker spent handling datagrams, wake-ups and ticks.");
  for (size_t i = 0; i < workers.size(); ++i) {
    const std::string index = std::to_string(i);
    w.sample({{"worker", index}}, double(workers.worker(i).busy_ns()) / 1e9);
  }
  w.family("lss_udp_send_datagrams_total", Type::kCounter,
           "UDP datagrams each media worker sent on its shared socket (and, with "
           "SEND_PATH=connected, its connected ones).");
  for (size_t i = 0; i < samples.size(); ++i) {
    w.sample({{"worker", std::to_string(i)}}, double(samples[i].udp_datagrams));
  }
  w.family("lss_udp_send_messages_total", Type::kCounter,
           "Messages that carried them: with UDP GSO one carries a viewer's run of packets, so "
           "datagrams / messages is how much the kernel's send path was shared.");
  for (size_t i = 0; i < samples.size(); ++i) {
    w.sample({{"worker", std::to_string(i)}}, double(samples[i].udp_messages));
  }
  w.family("lss_udp_connected_sockets", Type::kGauge,
           "UDP sockets each media worker has connected to a destination (SEND_PATH=connected; "
           "closed after 30 s without a send).");
  for (size_t i = 0; i < workers.size(); ++i) {
    w.sample({{"worker", std::to_string(i)}}, double(workers.worker(i).connected_sockets()));
  }
  w.family("lss_udp_xdp_frames_total", Type::kCounter,
           "Datagrams each media worker sent as AF_XDP frames (SEND_PATH=xdp); not in "
           "lss_udp_send_datagrams_total.");
  for (size_t i = 0; i < workers.size(); ++i) {
    w.sample({{"worker", std::to_string(i)}}, double(workers.worker(i).xdp_frames()));
  }
  w.family("lss_udp_xdp_fallbacks_total", Type::kCounter,
           "Datagrams SEND_PATH=xdp sent through the UDP socket instead (IPv6, routed "
           "through another device, next hop's MAC not yet known, no free frame).");
  for (size_t i = 0; i < workers.size(); ++i) {
    w.sample({{"worker", std::to_string(i)}}, double(workers.worker(i).xdp_fallbacks()));
  }
  w.family("lss_paced_datagrams_total", Type::kCounter,
           "Datagrams each media worker held back to pace a viewer's burst (PACING=true).");
  for (size_t i = 0; i < workers.size(); ++i) {
    w.sample({{"worker", std::to_string(i)}}, double(workers.worker(i).paced_total()));
  }
  w.family("lss_paced_pool_full_total", Type::kCounter,
           "Datagrams sent at once although their pacer said later: the worker's pool of held "
           "datagrams was full (a keyframe to very many paced viewers).");
  for (size_t i = 0; i < workers.size(); ++i) {
    w.sample({{"worker", std::to_string(i)}}, double(workers.worker(i).paced_pool_full()));
  }
  w.family("lss_send_path", Type::kGauge,
           "1 for each media worker's send path (SEND_PATH: plain, grouped, gso for auto, "
           "io_uring, connected, xdp; gso falls back to grouped, io_uring to io_uring-grouped and "
           "connected to connected-grouped where the kernel refuses UDP GSO, io_uring to gso "
           "where it refuses io_uring).");
  for (size_t i = 0; i < workers.size(); ++i) {
    w.sample({{"worker", std::to_string(i)}, {"path", workers.worker(i).send_path_name()}}, 1);
  }
}

void write_http(metrics::TextWriter& w, const http::RequestCounts& counts) {
  w.family("lss_http_requests_total", Type::kCounter,
           "HTTP requests answered, by route (the registered prefix; \"/\" for the web pages "
           "and unknown paths) and status code.");
  for (const auto& row : counts.snapshot()) {
    const std::string status = std::to_string(row.status);
    w.sample({{"route", row.route}, {"status", status}}, double(row.count));
  }
}

void write_storage(metrics::TextWriter& w, const MetricsSources& src) {
  w.gauge("lss_spool_clips", "Finished clips in the spool waiting to be stored.",
          double(src.uploader.pending()));
  double age = 0;
  if (const auto oldest = src.uploader.oldest_pending()) {
    const auto waited = std::filesystem::file_time_type::clock::now() - *oldest;
    age = std::max(0.0, std::chrono::duration<double>(waited).count());
  }
  w.gauge("lss_spool_oldest_age_seconds",
          "Age of the oldest clip waiting in the spool (0 when none waits).", age);
  w.counter("lss_uploads_failed_total", "Clip upload attempts that failed (each retry counts).",
            double(src.uploader.failed_uploads()));
  w.counter("lss_catalog_write_errors_total", "Catalog writes (streams, clips) that failed.",
            double(src.catalog.write_errors()));
}

void write_recording(metrics::TextWriter& w, const record::RecordingStats* stats) {
  const auto get = [stats](auto member) {
    return stats ? double((stats->*member).load(std::memory_order_relaxed)) : 0.0;
  };
  w.gauge("lss_recording_paused",
          "Streams whose recording is paused because the spool cannot be written (a full disk).",
          get(&record::RecordingStats::paused));
  w.counter("lss_recording_write_errors_total",
            "Clip writes that failed (each pause, and each retry that failed, at most one a "
            "second per stream).",
            get(&record::RecordingStats::write_errors));
  w.counter("lss_recording_frames_not_recorded_total",
            "Frames not recorded because their stream's recording was paused.",
            get(&record::RecordingStats::frames_not_recorded));
  w.counter("lss_recording_packets_dropped_total",
            "Packets not handed to the recorder because it was behind (a slow disk); "
            "forwarding never waits for it.",
            get(&record::RecordingStats::packets_dropped));
}

void write_hls(metrics::TextWriter& w, const hls::HlsRegistry* hls) {
  const auto t = hls ? hls->totals() : hls::HlsRegistry::Totals{};
  w.gauge("lss_hls_streams", "Streams served over LL-HLS (live, or ended and lingering).",
          double(t.streams));
  w.gauge("lss_hls_waiting_requests",
          "LL-HLS requests waiting for a part: blocking playlist reloads and preload hints.",
          double(t.waiters));
  w.gauge("lss_hls_bytes", "LL-HLS media (init segments, parts, segments) held in memory.",
          double(t.bytes));
}

}  // namespace

metrics::Histogram latency_seconds(
    const std::array<uint64_t, net::LatencyHistogram::kBuckets>& counts, uint64_t sum_us) {
  constexpr size_t kOctaves = net::LatencyHistogram::kBuckets / 4;
  metrics::Histogram h;
  h.counts.assign(kOctaves, 0);  // kOctaves - 1 bounds, and the rest above them
  for (size_t k = 0; k + 1 < kOctaves; ++k) {
    h.upper_bounds.push_back(double(net::LatencyHistogram::upper_us(4 * k + 3)) / 1e6);
  }
  for (size_t i = 0; i < counts.size(); ++i) h.counts[std::min(i / 4, kOctaves - 1)] += counts[i];
  h.sum = double(sum_us) / 1e6;
  return h;
}

void register_metrics_api(http::Router& router, MetricsSources src) {
  router.add("/metrics", [src](const http::Request& req, const http::RequestContext&,
                               http::Responder respond) {
    if (req.method() != http::Verb::get) {
      auto res = http::make_response(req, http::Status::method_not_allowed, "use GET\n");
      res.set(http::bhttp::field::allow, "GET");
      return respond(std::move(res));
    }
    // Each worker fills its own slot; run_on_all's done runs after them all.
    auto samples = std::make_shared<std::vector<WorkerSample>>(src.workers.size());
    WorkerPool* workers = &src.workers;
    workers->run_on_all(
        [samples, workers](sfu::Engine& engine) {
          const size_t i = engine.worker_index();
          const auto& c = workers->worker(i).counters();  // this worker's thread: no race
          const net::MediaWorker& w = workers->worker(i);
          (*samples)[i] = {engine.metrics(), c.bytes_in, c.bytes_out, w.udp_datagrams_sent(),
                           w.udp_messages_sent()};
        },
        [samples, src, req, respond]() {
          metrics::TextWriter w;
          write_media(w, *samples, src.workers);
          write_http(w, src.router.request_counts());
          write_storage(w, src);
          write_recording(w, src.recording);
          write_hls(w, src.hls);
          respond(http::make_response(req, http::Status::ok, w.text(),
                                      std::string(metrics::TextWriter::kContentType)));
        });
  });
}

}  // namespace lss
