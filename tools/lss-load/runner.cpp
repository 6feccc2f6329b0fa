#include "runner.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "cycles.hpp"
#include "whip_client.hpp"

namespace lss::load {

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) {
  g_interrupted.store(true);
}

constexpr uint64_t kHttpTag = ~uint64_t(0);
// Peer ids (epoll data, HTTP tags): a viewer's index, or a publisher's with
// this bit; --cycles adds peers to both lists as it goes.
constexpr uint64_t kPublisherBit = uint64_t(1) << 40;

// HTTP tags of Janus API requests: kind in the top 16 bits, viewer index
// below (WHIP/WHEP requests use the bare peer id, kind 0).
enum JanusKind : uint64_t {
  kJanusCreate = 1,
  kJanusAttach,
  kJanusWatch,
  kJanusStart,
  kJanusPoll,
  kJanusKeepalive,
  kJanusDestroy
};
constexpr uint64_t janus_tag(JanusKind kind, uint64_t index) {
  return uint64_t(kind) << 48 | index;
}

std::string janus_transaction() {
  static uint64_t n = 0;
  return "lss-load-" + std::to_string(++n);
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

double seconds_between(Timestamp a, Timestamp b) {
  return std::chrono::duration<double>(b - a).count();
}

class Loop {
 public:
  Loop(const Options& o, PeerContext& ctx, RunData& d, HttpPool& http, int epfd)
      : o_(o), ctx_(ctx), d_(d), http_(http), epfd_(epfd) {}

  void run();

 private:
  enum class Phase { kPublishers, kRamp, kHold, kDone };

  LoadPeer& peer(uint64_t id) {
    return id & kPublisherBit ? *d_.publishers[id & ~kPublisherBit] : *d_.viewers[id];
  }
  uint64_t id_of(const LoadPeer& p) const {
    return p.role() == LoadPeer::Role::kPublisher ? kPublisherBit | p.index() : p.index();
  }
  std::vector<std::unique_ptr<LoadPeer>>& peers(LoadPeer::Role role) {
    return role == LoadPeer::Role::kPublisher ? d_.publishers : d_.viewers;
  }
  CyclePlaces& places(LoadPeer::Role role) {
    return role == LoadPeer::Role::kPublisher ? publisher_places_ : viewer_places_;
  }
  // A new peer for `place` (its first session, or with --cycles its next).
  LoadPeer& join(LoadPeer::Role role, size_t place) {
    auto& list = peers(role);
    list.push_back(std::make_unique<LoadPeer>(list.size(), role, stream_for(place), ctx_));
    if (o_.cycles > 0) places(role).assign(place, list.size() - 1);
    return *list.back();
  }
  // --cycles: sends the peers whose turn is over on their way (DELETE)...
  void take_turns(Timestamp now);
  void leave(LoadPeer& p, Timestamp now);
  // ... and, once it is answered, starts their place's next session.
  void next_turn(LoadPeer& p, Timestamp now);
  std::string stream_for(size_t i) const {
    if (o_.publishers <= 1) return o_.stream;
    return o_.stream + "-" + std::to_string(i % size_t(o_.publishers));
  }
  void request(LoadPeer& p, Timestamp now) {
    const bool pub = p.role() == LoadPeer::Role::kPublisher;
    HttpRequest r;
    r.tag = id_of(p);
    r.method = "POST";
    r.url = o_.url + (pub ? "/whip/" : "/whep/") + p.stream();
    r.body = p.offer();
    if (pub) r.bearer = o_.key;
    p.on_requested(now);
    http_.submit(std::move(r));
  }
  void on_http(HttpResponse& r, Timestamp now);
  void progress(Timestamp now, Phase phase);
  void watch_fd(LoadPeer& p);
  // Janus HTTP API (--janus).
  void janus_post(JanusKind kind, uint64_t index, const std::string& path,
                  const nlohmann::json& body);
  void janus_poll();
  void on_janus(HttpResponse& r, Timestamp now);
  void on_janus_event(const nlohmann::json& ev, Timestamp now);
  std::optional<ProcSample> sample_server() const {
    if (o_.server_pid <= 0) return std::nullopt;
    auto s = sample_process(o_.server_pid);
    if (!s.ok()) return std::nullopt;
    return *s;
  }

  const Options& o_;
  PeerContext& ctx_;
  RunData& d_;
  HttpPool& http_;
  int epfd_;
  std::unordered_map<uint64_t, size_t> janus_handles_;  // handle id -> viewer index
  Timestamp next_keepalive_{};
  int poll_failures_ = 0;
  bool stopping_ = false;
  size_t ramped_ = 0;  // viewer places started
  CyclePlaces publisher_places_{o_.cycles}, viewer_places_{o_.cycles};
};

void Loop::take_turns(Timestamp now) {
  const Duration hold = milliseconds(o_.hold_ms);
  for (auto role : {LoadPeer::Role::kPublisher, LoadPeer::Role::kViewer}) {
    CyclePlaces& pl = places(role);
    for (size_t i = 0; i < pl.places(); ++i) {
      if (pl.leaving(i) || pl.done(i)) continue;
      LoadPeer& p = *peers(role)[pl.peer(i)];
      if (turn_over(p, now, hold, ctx_.connect_timeout)) leave(p, now);
    }
  }
}

void Loop::leave(LoadPeer& p, Timestamp now) {
  p.stop();
  p.left_at = now;
  // Refused, or never answered: nothing to delete on the server.
  if (p.location.empty()) return next_turn(p, now);
  places(p.role()).set_leaving(places(p.role()).place_of(p.index()));
  HttpRequest r;
  r.tag = id_of(p);
  r.method = "DELETE";
  r.url = p.location;
  if (p.role() == LoadPeer::Role::kPublisher) r.bearer = o_.key;
  p.location.clear();  // not deleted again at teardown
  ++d_.deletes_sent;
  http_.submit(std::move(r));
}

void Loop::next_turn(LoadPeer& p, Timestamp now) {
  p.release();
  const size_t place = places(p.role()).place_of(p.index());
  if (places(p.role()).left(place)) request(join(p.role(), place), now);
}

void Loop::watch_fd(LoadPeer& p) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = id_of(p);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, p.fd(), &ev) != 0)
    p.fail(std::string("epoll_ctl: ") + std::strerror(errno));
}

void Loop::janus_post(JanusKind kind, uint64_t index, const std::string& path,
                      const nlohmann::json& body) {
  HttpRequest r;
  r.tag = janus_tag(kind, index);
  r.method = "POST";
  r.url = o_.url + path;
  r.body = body.dump();
  r.content_type = "application/json";
  http_.submit(std::move(r));
}

void Loop::janus_poll() {
  if (stopping_ || d_.janus_session == 0) return;
  HttpRequest r;
  r.tag = janus_tag(kJanusPoll, 0);
  r.method = "GET";
  r.url = o_.url + "/" + std::to_string(d_.janus_session) + "?maxev=64";
  r.timeout_ms = 60000;  // Janus answers an idle long poll after 30 s
  r.cancellable = true;
  http_.submit(std::move(r));
}

void Loop::on_janus(HttpResponse& r, Timestamp now) {
  using nlohmann::json;
  const auto kind = JanusKind(r.tag >> 48);
  const size_t index = size_t(r.tag & ((uint64_t(1) << 48) - 1));
  if (kind == kJanusPoll) {
    if (r.status == 200) {
      poll_failures_ = 0;
      json body = json::parse(r.body, nullptr, false);
      if (body.is_array()) {
        for (const auto& ev : body) on_janus_event(ev, now);
      } else if (body.is_object()) {
        on_janus_event(body, now);
      }
    } else if (!stopping_ && ++poll_failures_ > 20) {
      d_.janus_error = "Janus long poll keeps failing: " +
                       (r.status ? "HTTP " + std::to_string(r.status) : r.error);
      return;
    }
    janus_poll();
    return;
  }
  if (kind == kJanusKeepalive || kind == kJanusDestroy) return;
  json body = json::parse(r.body, nullptr, false);
  std::string why;
  if (r.status != 200) {
    why = r.status ? "HTTP " + std::to_string(r.status) : "HTTP: " + r.error;
  } else if (!body.is_object()) {
    why = "Janus sent no JSON";
  } else if (body.value("janus", "") == "error") {
    why = "Janus error " + body["error"].value("reason", body.dump());
  }
  if (kind == kJanusCreate) {
    if (why.empty()) {
      d_.janus_session = body["data"].value("id", uint64_t(0));
      if (d_.janus_session == 0) why = "Janus create without a session id";
    }
    if (!why.empty()) {
      d_.janus_error = "create session: " + why;
      return;
    }
    next_keepalive_ = now + seconds(25);
    janus_poll();
    return;
  }
  if (index >= d_.viewers.size()) return;
  LoadPeer& p = *d_.viewers[index];
  if (!why.empty()) return p.fail(why);
  if (kind == kJanusAttach) {
    const uint64_t handle = body["data"].value("id", uint64_t(0));
    if (handle == 0) return p.fail("Janus attach without a handle id");
    p.janus_handle = handle;
    janus_handles_[handle] = index;
    janus_post(kJanusWatch, index,
               "/" + std::to_string(d_.janus_session) + "/" + std::to_string(handle),
               {{"janus", "message"},
                {"transaction", janus_transaction()},
                {"body", {{"request", "watch"}, {"id", o_.janus_mountpoint}}}});
  }
  // kJanusWatch, kJanusStart: an ack; what matters arrives as events.
}

void Loop::on_janus_event(const nlohmann::json& ev, Timestamp now) {
  if (!ev.is_object()) return;
  const std::string type = ev.value("janus", "");
  const uint64_t sender = ev.value("sender", uint64_t(0));
  auto it = janus_handles_.find(sender);
  if (it == janus_handles_.end()) return;
  const size_t index = it->second;
  LoadPeer& p = *d_.viewers[index];
  if (type == "hangup" || type == "detached") {
    if (p.state() != LoadPeer::State::kClosed)
      p.fail("Janus " + type + ": " + ev.value("reason", std::string("no reason")));
    return;
  }
  if (type != "event") return;  // webrtcup, media, slowlink, ...
  if (ev.contains("plugindata")) {
    const auto& data = ev["plugindata"].value("data", nlohmann::json::object());
    if (data.contains("error"))
      return p.fail("Janus streaming: " + data["error"].get<std::string>());
  }
  if (!ev.contains("jsep")) return;
  const auto& jsep = ev["jsep"];
  if (jsep.value("type", "") != "offer") return;
  if (p.state() != LoadPeer::State::kSignaling) return;  // a renegotiation: not expected
  auto answer = p.on_offer(jsep.value("sdp", ""), now);
  if (!answer.ok()) return p.fail(answer.error().message);
  watch_fd(p);
  janus_post(kJanusStart, index,
             "/" + std::to_string(d_.janus_session) + "/" + std::to_string(sender),
             {{"janus", "message"},
              {"transaction", janus_transaction()},
              {"body", {{"request", "start"}}},
              {"jsep", {{"type", "answer"}, {"sdp", *answer}}}});
}

void Loop::on_http(HttpResponse& r, Timestamp now) {
  if (r.tag >> 48) return on_janus(r, now);
  if (r.method == "DELETE") {
    if (r.status >= 200 && r.status < 300) ++d_.deletes_ok;
    if (o_.cycles > 0) next_turn(peer(r.tag), now);
    return;
  }
  LoadPeer& p = peer(r.tag);
  if (r.status != 201) {
    std::string why = r.status == 0
                          ? "HTTP: " + r.error
                          : "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    return p.fail(why);
  }
  if (!r.location.empty()) p.location = resolve_location(o_.url, r.location);
  Status s = p.on_answer(r.body, now);
  if (!s.ok()) return p.fail(s.message());
  watch_fd(p);
}

void Loop::progress(Timestamp now, Phase phase) {
  size_t pub_ok = 0, connected = 0, receiving = 0, failed = 0;
  uint64_t packets = 0;
  for (const auto& p : d_.publishers) pub_ok += p->connected();
  for (const auto& v : d_.viewers) {
    connected += v->connected();
    receiving += v->first_rtp_at.has_value();
    failed += v->failed();
    packets += v->video_rx.packets + v->audio_rx.packets;
  }
  static const char* kNames[] = {"publishers", "ramp", "hold", "done"};
  spdlog::info(
      "{:6.1f}s {:10s} publishers {}/{}  viewers started {} connected {} receiving {} "
      "failed {}  rtp received {}",
      seconds_between(d_.started, now), kNames[int(phase)], pub_ok, d_.publishers.size(),
      d_.viewers.size(), connected, receiving, failed, packets);
}

void Loop::run() {
  const Timestamp t0 = Clock::now();
  d_.started = t0;
  for (int i = 0; i < o_.publishers; ++i) {
    LoadPeer& p = join(LoadPeer::Role::kPublisher, size_t(i));
    if (o_.rtp_out()) {
      auto video = SocketAddress::parse(o_.rtp_out_host, o_.rtp_out_video_port);
      auto audio = SocketAddress::parse(o_.rtp_out_host, o_.rtp_out_audio_port);
      if (!video || !audio) {
        p.fail("--rtp-out: " + o_.rtp_out_host + " is not an IP address");
        continue;
      }
      p.on_requested(t0);
      Status st = p.start_plain_rtp(*video, *audio, t0);
      if (!st.ok()) p.fail(st.message());
    } else {
      request(p, t0);
    }
  }
  if (o_.janus()) {
    janus_post(kJanusCreate, 0, "", {{"janus", "create"}, {"transaction", janus_transaction()}});
  }
  Phase phase = Phase::kPublishers;
  Timestamp next_viewer_tick = t0, next_progress = t0 + seconds(1);
  epoll_event events[256];
  while (phase != Phase::kDone) {
    Timestamp now = Clock::now();
    if (g_interrupted.load()) {
      d_.interrupted = true;
      phase = Phase::kDone;
      break;
    }
    if (phase == Phase::kPublishers) {
      // Viewers join once every publisher sends media (or gave up), so join
      // times measure the server, not the publishers' set-up.
      // With --cycles there are no viewers to hold back, and publishers come
      // and go.
      bool settled = true;
      for (const auto& p : d_.publishers) settled &= p->connected() || p->failed();
      settled |= o_.cycles > 0;
      if (o_.janus()) {
        if (!d_.janus_error.empty()) {
          spdlog::error("Janus: {}", d_.janus_error);
          phase = Phase::kDone;
          break;
        }
        settled &= d_.janus_session != 0;
      }
      if (settled || now - t0 > ctx_.connect_timeout + seconds(2)) {
        for (const auto& p : d_.publishers)
          if (!p->connected() && o_.cycles == 0)
            p->fail(p->error().empty() ? "not connected in time" : p->error());
        if (o_.publishers > 0 && o_.viewers > 0) {
          size_t ok = 0;
          for (const auto& p : d_.publishers) ok += p->connected();
          if (ok == 0) spdlog::warn("no publisher connected; viewers will likely fail");
        }
        phase = Phase::kRamp;
        d_.ramp_started = now;
        d_.proc_viewers_start = sample_server();
      }
    }
    if (phase == Phase::kRamp) {
      const double elapsed = seconds_between(d_.ramp_started, now);
      const size_t due = std::min(size_t(o_.viewers), size_t(elapsed * o_.ramp_per_s) + 1);
      while (ramped_ < due) {
        LoadPeer& v = join(LoadPeer::Role::kViewer, ramped_++);
        if (o_.janus()) {
          v.on_requested(now);
          janus_post(kJanusAttach, v.index(), "/" + std::to_string(d_.janus_session),
                     {{"janus", "attach"},
                      {"plugin", "janus.plugin.streaming"},
                      {"transaction", janus_transaction()}});
        } else {
          request(v, now);
        }
      }
      if (ramped_ == size_t(o_.viewers)) {
        phase = Phase::kHold;
        d_.hold_started = now;
        d_.proc_hold_start = sample_server();
        if (auto u = sample_udp(); u.ok()) d_.udp_hold_start = *u;
        d_.rtp_at_hold_start = 0;
        for (const auto& v : d_.viewers)
          d_.rtp_at_hold_start += v->video_rx.packets + v->audio_rx.packets;
      }
    }
    const bool over = o_.cycles > 0 ? publisher_places_.finished() && viewer_places_.finished()
                                    : seconds_between(d_.hold_started, now) >= o_.duration_s;
    if (phase == Phase::kHold && over) {
      phase = Phase::kDone;
      break;
    }

    // 1 ms wakeups keep publisher pacing within a millisecond of the clip.
    const int n = epoll_wait(epfd_, events, 256, 1);
    now = Clock::now();
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kHttpTag) {
        for (auto& r : http_.take()) on_http(r, now);
      } else {
        peer(id).on_readable(now);
      }
    }
    for (auto& p : d_.publishers) p->tick(now);
    if (now >= next_viewer_tick) {
      // Viewers only retransmit checks/handshakes and refresh consent:
      // a coarser timer is plenty and keeps thousands of them cheap.
      next_viewer_tick = now + milliseconds(10);
      for (auto& v : d_.viewers) v->tick(now);
      if (o_.cycles > 0) take_turns(now);
    }
    if (d_.janus_session && now >= next_keepalive_) {
      next_keepalive_ = now + seconds(25);
      janus_post(kJanusKeepalive, 0, "/" + std::to_string(d_.janus_session),
                 {{"janus", "keepalive"}, {"transaction", janus_transaction()}});
    }
    if (now >= next_progress) {
      next_progress = now + seconds(1);
      if (!o_.json) progress(now, phase);
    }
  }
  d_.ended = Clock::now();
  if (auto u = sample_udp(); u.ok()) d_.udp_after = *u;
  stopping_ = true;
}

}  // namespace

Status run_load(const Options& options, PeerContext& ctx, RunData& data) {
  data.options = &options;
  data.ctx = &ctx;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  auto pool = HttpPool::create(size_t(options.http_threads));
  if (!pool.ok()) return pool.error();
  HttpPool& http = **pool;
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return make_error(std::string("epoll_create1: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kHttpTag;
  epoll_ctl(epfd, EPOLL_CTL_ADD, http.event_fd(), &ev);

  if (options.server_pid > 0) {
    auto s = sample_process(options.server_pid);
    if (s.ok()) {
      data.proc_before = *s;
    } else {
      data.proc_error = s.error().message;
    }
  }

  const double cpu_before = cpu_seconds();
  Loop loop(options, ctx, data, http, epfd);
  loop.run();
  data.self_cpu_s = cpu_seconds() - cpu_before;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  data.self_max_rss_kb = ru.ru_maxrss;

  if (options.server_pid > 0) {
    auto s = sample_process(options.server_pid);
    if (s.ok()) {
      data.proc_after = *s;
    } else {
      data.proc_error = s.error().message;
    }
  }

  // Tear down: stop every peer (their statistics are final from here), then
  // DELETE each session and wait a little for the answers.
  static const char* kStateNames[] = {"new",       "signaling", "ice",   "dtls",
                                      "connected", "closed",    "failed"};
  for (auto& v : data.viewers) ++data.viewer_states[kStateNames[int(v->state())]];
  for (auto& p : data.publishers) p->stop();
  for (auto& v : data.viewers) v->stop();
  if (data.janus_session) {
    // Ending the session ends every handle (and its PeerConnection) in it.
    http.cancel();
    HttpRequest r;
    r.tag = janus_tag(kJanusDestroy, 0);
    r.method = "POST";
    r.url = options.url + "/" + std::to_string(data.janus_session);
    r.content_type = "application/json";
    r.body = nlohmann::json{{"janus", "destroy"}, {"transaction", janus_transaction()}}.dump();
    http.submit(std::move(r));
  }
  for (int round = 0; round < 2; ++round) {
    // Viewers first, so the server does not close them itself when their
    // publisher leaves.
    auto& list = round == 0 ? data.viewers : data.publishers;
    for (auto& p : list) {
      if (p->location.empty()) continue;
      HttpRequest r;
      r.method = "DELETE";
      r.url = p->location;
      if (p->role() == LoadPeer::Role::kPublisher) r.bearer = options.key;
      ++data.deletes_sent;
      http.submit(std::move(r));
    }
    const Timestamp deadline = Clock::now() + seconds(10);
    auto collect = [&] {
      for (auto& r : http.take()) {
        if (r.method == "DELETE" && r.status >= 200 && r.status < 300) ++data.deletes_ok;
        // An offer answered after the run ended (interrupted mid-ramp): its
        // session exists on the server, so end it too.
        if (r.method == "POST" && r.status == 201 && !r.location.empty()) {
          HttpRequest del;
          del.method = "DELETE";
          del.url = resolve_location(options.url, r.location);
          del.bearer = options.key;
          ++data.deletes_sent;
          http.submit(std::move(del));
        }
      }
    };
    while (http.in_flight() > 0 && Clock::now() < deadline) {
      pollfd pfd{http.event_fd(), POLLIN, 0};
      poll(&pfd, 1, 20);  // only the HTTP answers matter now
      collect();
    }
    collect();
  }
  close(epfd);
  return {};
}

}  // namespace lss::load
