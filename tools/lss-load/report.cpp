#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

namespace lss::load {

namespace {

using nlohmann::json;

double ms_between(Timestamp a, Timestamp b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double round3(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

json percentiles(std::vector<double> v) {
  json j;
  j["count"] = v.size();
  if (v.empty()) {
    j["p50"] = j["p99"] = j["max"] = j["mean"] = nullptr;
    return j;
  }
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const size_t i = size_t(std::ceil(q * double(v.size()))) - 1;
    return round3(v[std::min(i, v.size() - 1)]);
  };
  double sum = 0;
  for (double x : v) sum += x;
  j["p50"] = at(0.50);
  j["p99"] = at(0.99);
  j["max"] = round3(v.back());
  j["mean"] = round3(sum / double(v.size()));
  return j;
}

// A µs histogram in ms: samples, p50, p99, max, mean (null when empty).
json histogram_ms(const Histogram& h) {
  if (!h.count()) {
    return {
        {"samples", 0}, {"p50", nullptr}, {"p99", nullptr}, {"max", nullptr}, {"mean", nullptr}};
  }
  return {{"samples", h.count()},
          {"p50", round3(double(h.quantile(0.50)) / 1000.0)},
          {"p99", round3(double(h.quantile(0.99)) / 1000.0)},
          {"max", round3(double(h.max()) / 1000.0)},
          {"mean", round3(h.mean() / 1000.0)}};
}

// All viewers' frame completion, and each position group's: viewers
// [first, last] in join order.
json frame_completion_json(const PeerContext& ctx) {
  json j = histogram_ms(ctx.frame_completion_us);
  json groups = json::array();
  const size_t n = ctx.viewers, k = PeerContext::kPositionGroups;
  for (size_t g = 0; g < k; ++g) {
    const size_t first = (g * n + k - 1) / k, last = ((g + 1) * n + k - 1) / k;
    if (first >= last) continue;  // fewer viewers than groups
    json e = histogram_ms(ctx.frame_completion_by_position[g]);
    e["viewers"] = {first, last - 1};
    groups.push_back(std::move(e));
  }
  j["by_position"] = std::move(groups);
  return j;
}

}  // namespace

json build_report(const RunData& d) {
  const Options& o = *d.options;
  const PeerContext& ctx = *d.ctx;
  json r;
  r["config"] = {{"url", o.url},
                 {"stream", o.stream},
                 {"publishers", o.publishers},
                 {"viewers", o.viewers},
                 {"duration_s", o.duration_s},
                 {"ramp_per_s", o.ramp_per_s},
                 {"bitrate_kbps", o.bitrate_kbps},
                 {"codec", codec::video_codec_name(o.codec)},
                 {"srtp_sample", o.srtp_sample},
                 {"cycles", o.cycles},
                 {"hold_ms", o.hold_ms},
                 {"clip", ctx.clip ? ctx.clip->source : ""},
                 {"clip_video_kbps", ctx.clip ? round3(ctx.clip->video_kbps()) : 0.0},
                 {"clip_audio_kbps", ctx.clip ? round3(ctx.clip->audio_kbps()) : 0.0}};
  if (o.janus()) r["config"]["janus_mountpoint"] = o.janus_mountpoint;
  if (o.rtp_out())
    r["config"]["rtp_out"] = o.rtp_out_host + ":" + std::to_string(o.rtp_out_video_port) + ":" +
                             std::to_string(o.rtp_out_audio_port);
  r["elapsed_s"] = round3(ms_between(d.started, d.ended) / 1000.0);
  r["hold_s"] =
      d.hold_started == Timestamp{} ? 0.0 : round3(ms_between(d.hold_started, d.ended) / 1000.0);
  r["interrupted"] = d.interrupted;

  std::map<std::string, int> errors;
  if (!d.janus_error.empty()) ++errors["janus: " + d.janus_error];

  // Publishers.
  {
    size_t connected = 0, failed = 0, with_media = 0;
    uint64_t vp = 0, ap = 0, bytes = 0, keyframes = 0, kf_requests = 0, nacks = 0;
    double send_s = 0;
    for (const auto& p : d.publishers) {
      connected += p->connected_at.has_value();
      failed += p->failed();
      if (p->failed()) ++errors["publisher: " + p->error()];
      if (p->sender) {
        with_media += p->sender->video_packets > 0 && p->sender->audio_packets > 0;
        vp += p->sender->video_packets;
        ap += p->sender->audio_packets;
        bytes += p->sender->video_bytes + p->sender->audio_bytes;
        keyframes += p->sender->keyframes;
        kf_requests += p->rtcp_pli_in;
        nacks += p->rtcp_nack_in;
        send_s += ms_between(*p->connected_at, p->left_at.value_or(d.ended)) / 1000.0;
      }
    }
    uint64_t vbytes = 0;
    for (const auto& p : d.publishers)
      if (p->sender) vbytes += p->sender->video_bytes;
    r["publishers"] = {
        {"requested", d.publishers.size()},
        {"connected", connected},
        {"failed", failed},
        {"with_media", with_media},  // sent both video and audio
        {"video_packets_sent", vp},
        {"audio_packets_sent", ap},
        {"bytes_sent", bytes},
        {"video_kbps_each", send_s > 0 ? round3(double(vbytes) * 8 / send_s / 1000.0) : 0.0},
        {"keyframes_sent", keyframes},
        {"keyframe_requests_received", kf_requests},
        {"nacks_received", nacks}};
  }

  // Viewers.
  std::vector<double> join_ms, connect_ms, video_kbps;
  size_t answered = 0, connected = 0, receiving = 0, with_video = 0, with_audio = 0, failed = 0;
  uint64_t vpk = 0, apk = 0, bytes = 0, rtcp = 0, expected = 0, lost = 0, checked = 0,
           srtp_failed = 0;
  std::vector<double> vjit, ajit;
  std::map<std::string, size_t> profiles, video_codecs;
  for (const auto& v : d.viewers) {
    if (!v->video_codec.empty()) ++video_codecs[v->video_codec];
    if (v->srtp_profile) {
      switch (*v->srtp_profile) {
        case SrtpProfile::kAes128CmSha1_80:
          ++profiles["AES128_CM_SHA1_80"];
          break;
        case SrtpProfile::kAes128CmSha1_32:
          ++profiles["AES128_CM_SHA1_32"];
          break;
        case SrtpProfile::kAeadAes128Gcm:
          ++profiles["AEAD_AES_128_GCM"];
          break;
        case SrtpProfile::kAeadAes256Gcm:
          ++profiles["AEAD_AES_256_GCM"];
          break;
      }
    }
    answered += v->answered_at.has_value();
    connected += v->connected_at.has_value();
    const bool got = v->first_rtp_at.has_value();
    receiving += got;
    with_video += v->video_rx.packets > 0;
    with_audio += v->audio_rx.packets > 0;
    if (v->failed()) {
      ++failed;
      ++errors["viewer: " + v->error()];
    } else if (!got) {
      ++failed;
      switch (v->state_at_stop()) {
        case LoadPeer::State::kSignaling:
          ++errors["viewer: no answer to the WHEP POST before the run ended"];
          break;
        case LoadPeer::State::kConnected:
          ++errors["viewer: connected but no media received"];
          break;
        case LoadPeer::State::kClosed:
          ++errors["viewer: closed by the server before any media"];
          break;
        default:
          ++errors["viewer: still connecting when the run ended"];
      }
    }
    if (got) join_ms.push_back(ms_between(v->requested_at, *v->first_rtp_at));
    if (v->connected_at) connect_ms.push_back(ms_between(v->requested_at, *v->connected_at));
    vpk += v->video_rx.packets;
    apk += v->audio_rx.packets;
    bytes += v->video_rx.bytes + v->audio_rx.bytes;
    rtcp += v->rtcp_in;
    expected += v->video_rx.expected() + v->audio_rx.expected();
    lost += v->video_rx.lost() + v->audio_rx.lost();
    checked += v->srtp_checked;
    srtp_failed += v->srtp_failed;
    if (v->video_rx.packets > 1) vjit.push_back(v->video_rx.jitter_ms());
    if (v->audio_rx.packets > 1) ajit.push_back(v->audio_rx.jitter_ms());
    if (v->first_video_at) {
      const double s = ms_between(*v->first_video_at, v->left_at.value_or(d.ended)) / 1000.0;
      if (s > 0.5) video_kbps.push_back(double(v->video_rx.bytes) * 8 / s / 1000.0);
    }
  }
  r["viewers"] = {{"requested", d.viewers.size()},
                  {"answered", answered},
                  {"connected", connected},
                  {"receiving", receiving},
                  {"with_video", with_video},
                  {"with_audio", with_audio},
                  {"failed", failed},
                  {"states_at_end", d.viewer_states},
                  {"srtp_profiles", profiles},
                  {"video_codecs", video_codecs},
                  {"join_ms", percentiles(join_ms)},
                  {"connect_ms", percentiles(connect_ms)}};
  const uint64_t rtp = vpk + apk;
  r["received"] = {{"rtp_packets", rtp},
                   {"video_packets", vpk},
                   {"audio_packets", apk},
                   {"rtp_bytes", bytes},
                   {"rtcp_packets", rtcp},
                   {"expected_packets", expected},
                   {"lost_packets", lost},
                   {"loss_pct", expected ? round3(100.0 * double(lost) / double(expected)) : 0.0},
                   {"srtp_checked", checked},
                   {"srtp_failed", srtp_failed},
                   {"video_kbps_per_viewer", percentiles(video_kbps)},
                   {"video_jitter_ms", percentiles(vjit)},
                   {"audio_jitter_ms", percentiles(ajit)}};

  if (d.udp_hold_start && d.udp_after) {
    const UdpCounters& a = *d.udp_hold_start;
    const UdpCounters& b = *d.udp_after;
    r["udp_drops_during_hold"] = {{"rcvbuf_errors", b.rcvbuf_errors - a.rcvbuf_errors},
                                  {"sndbuf_errors", b.sndbuf_errors - a.sndbuf_errors},
                                  {"in_errors", b.in_errors - a.in_errors},
                                  {"in_datagrams", b.in_datagrams - a.in_datagrams}};
  }
  r["latency_ms"] = histogram_ms(ctx.latency_us);
  r["frame_completion_ms"] = frame_completion_json(ctx);

  if (o.server_pid > 0) {
    json s;
    s["pid"] = o.server_pid;
    if (d.proc_before && d.proc_after) {
      const double cpu = d.proc_after->cpu_s - d.proc_before->cpu_s;
      const double wall = ms_between(d.started, d.ended) / 1000.0;
      s["cpu_s"] = round3(cpu);
      s["cpu_pct"] = wall > 0 ? round3(100.0 * cpu / wall) : 0.0;
      s["rss_kb_start"] = d.proc_before->rss_kb;
      s["rss_kb_end"] = d.proc_after->rss_kb;
      s["rss_kb_peak"] = d.proc_after->hwm_kb;
      s["threads"] = d.proc_after->threads;
      // CPU per packet the server forwarded to a viewer (RTP received here).
      s["cpu_us_per_forwarded_packet"] =
          rtp ? json(round3(cpu * 1e6 / double(rtp))) : json(nullptr);
      if (d.proc_viewers_start) s["rss_kb_before_viewers"] = d.proc_viewers_start->rss_kb;
      // The steady state: from the last viewer started to the end of the
      // hold, so joins (ICE, DTLS handshakes) do not count.
      if (d.proc_hold_start && d.hold_started != Timestamp{}) {
        const double hold_cpu = d.proc_after->cpu_s - d.proc_hold_start->cpu_s;
        const double hold_wall = ms_between(d.hold_started, d.ended) / 1000.0;
        const uint64_t hold_rtp = rtp - std::min(rtp, d.rtp_at_hold_start);
        auto per_packet = [hold_rtp](double cpu_s) {
          return hold_rtp ? json(round3(cpu_s * 1e6 / double(hold_rtp))) : json(nullptr);
        };
        // The thread that worked hardest over the hold: near 1 core, it is
        // the bottleneck whatever the process total says.
        double top = 0;
        std::string top_name;
        for (const auto& [tid, t] : d.proc_after->thread_cpu_s) {
          auto before = d.proc_hold_start->thread_cpu_s.find(tid);
          const double used =
              t.first -
              (before == d.proc_hold_start->thread_cpu_s.end() ? 0 : before->second.first);
          if (used > top) top = used, top_name = t.second;
        }
        s["hold"] = {{"cpu_s", round3(hold_cpu)},
                     {"busiest_thread", top_name},
                     {"busiest_thread_cores", hold_wall > 0 ? round3(top / hold_wall) : 0.0},
                     {"wall_s", round3(hold_wall)},
                     {"cpu_cores", hold_wall > 0 ? round3(hold_cpu / hold_wall) : 0.0},
                     {"rtp_packets", hold_rtp},
                     {"cpu_us_per_forwarded_packet", per_packet(hold_cpu)},
                     {"user_us_per_forwarded_packet",
                      per_packet(d.proc_after->user_s - d.proc_hold_start->user_s)},
                     {"system_us_per_forwarded_packet",
                      per_packet(d.proc_after->system_s - d.proc_hold_start->system_s)}};
      }
    } else {
      s["error"] = d.proc_error;
    }
    r["server"] = s;
  }
  {
    const double wall = ms_between(d.started, d.ended) / 1000.0;
    r["load_generator"] = {{"cpu_s", round3(d.self_cpu_s)},
                           {"cpu_pct", wall > 0 ? round3(100.0 * d.self_cpu_s / wall) : 0.0},
                           {"max_rss_kb", d.self_max_rss_kb}};
  }
  r["teardown"] = {{"deletes_sent", d.deletes_sent}, {"deletes_ok", d.deletes_ok}};
  json errs = json::object();
  for (const auto& [k, n] : errors) errs[k] = n;
  r["errors"] = errs;
  return r;
}

std::string human_summary(const json& r) {
  std::ostringstream s;
  auto num = [](const json& j) -> std::string {
    if (j.is_null()) return "-";
    std::ostringstream t;
    t << j.get<double>();
    return t.str();
  };
  const auto& p = r["publishers"];
  const auto& v = r["viewers"];
  const auto& rx = r["received"];
  const auto& lat = r["latency_ms"];
  s << "publishers: " << p["connected"] << "/" << p["requested"] << " connected, "
    << p["video_packets_sent"] << " video + " << p["audio_packets_sent"]
    << " audio packets sent, video " << num(p["video_kbps_each"]) << " kbps each\n";
  s << "viewers:    " << v["connected"] << "/" << v["requested"] << " connected, " << v["receiving"]
    << " receiving (video " << v["with_video"] << ", audio " << v["with_audio"] << "), failed "
    << v["failed"] << "\n";
  s << "join:       p50 " << num(v["join_ms"]["p50"]) << " ms, p99 " << num(v["join_ms"]["p99"])
    << " ms, max " << num(v["join_ms"]["max"]) << " ms (POST to first RTP)\n";
  s << "received:   " << rx["rtp_packets"] << " RTP packets, " << rx["rtp_bytes"] << " bytes, "
    << rx["rtcp_packets"] << " RTCP; lost " << rx["lost_packets"] << " (" << num(rx["loss_pct"])
    << " %); SRTP checked " << rx["srtp_checked"] << ", failed " << rx["srtp_failed"] << "\n";
  s << "jitter:     video p50 " << num(rx["video_jitter_ms"]["p50"]) << " ms, audio p50 "
    << num(rx["audio_jitter_ms"]["p50"]) << " ms\n";
  s << "latency:    p50 " << num(lat["p50"]) << " ms, p99 " << num(lat["p99"]) << " ms, max "
    << num(lat["max"]) << " ms (" << lat["samples"] << " samples)\n";
  const auto& fc = r["frame_completion_ms"];
  s << "frames:     complete p50 " << num(fc["p50"]) << " ms, p99 " << num(fc["p99"]) << " ms ("
    << fc["samples"] << " frames)";
  if (!fc["by_position"].empty()) {
    const auto &first = fc["by_position"].front(), &last = fc["by_position"].back();
    s << "; first viewers p50 " << num(first["p50"]) << " ms, last viewers p50 " << num(last["p50"])
      << " ms";
  }
  s << "\n";
  if (r.contains("server")) {
    const auto& sv = r["server"];
    if (sv.contains("cpu_s")) {
      s << "server:     cpu " << num(sv["cpu_s"]) << " s (" << num(sv["cpu_pct"])
        << " % of one core), rss " << sv["rss_kb_end"] << " kB (peak " << sv["rss_kb_peak"]
        << " kB), " << num(sv["cpu_us_per_forwarded_packet"]) << " us per forwarded packet\n";
      if (sv.contains("hold")) {
        const auto& h = sv["hold"];
        s << "hold:       server cpu " << num(h["cpu_s"]) << " s over " << num(h["wall_s"])
          << " s (" << num(h["cpu_cores"]) << " cores), " << h["rtp_packets"] << " packets, "
          << num(h["cpu_us_per_forwarded_packet"]) << " us per forwarded packet; busiest thread "
          << h["busiest_thread"].get<std::string>() << " " << num(h["busiest_thread_cores"])
          << " cores\n";
      }
    } else {
      s << "server:     " << sv["error"].get<std::string>() << "\n";
    }
  }
  s << "lss-load:   cpu " << num(r["load_generator"]["cpu_s"]) << " s ("
    << num(r["load_generator"]["cpu_pct"]) << " % of one core)\n";
  for (const auto& [k, n] : r["errors"].items()) s << "error x" << n << ": " << k << "\n";
  return s.str();
}

int exit_code(const RunData& d) {
  if (!d.viewers.empty() || d.options->viewers > 0) {
    for (const auto& v : d.viewers)
      if (v->first_rtp_at) return 0;
    return 1;
  }
  for (const auto& p : d.publishers)
    if (p->connected_at) return 0;
  return 1;
}

}  // namespace lss::load
