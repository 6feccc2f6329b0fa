#include "app/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <future>

namespace lss {
namespace asio = boost::asio;

namespace {
constexpr auto kTickInterval = std::chrono::milliseconds(20);
}  // namespace

WorkerPool::~WorkerPool() {
  stop();
}

Status WorkerPool::add_worker(uint16_t port, std::shared_ptr<DtlsCertificate> cert,
                              sfu::EngineOptions options, const std::vector<std::string>& ips,
                              std::optional<uint16_t> tcp_port) {
  const size_t index = slots_.size();
  auto worker = std::make_unique<net::MediaWorker>(unsigned(index), port);
  worker->set_send_via(send_via_);
  worker->set_xdp_device(xdp_device_);
  if (auto st = worker->open(); !st) return st;
  // Several addresses announced: answer from the one each peer chose.
  worker->set_reply_from_destination(ips.size() > 1);
  if (tcp_port) {
    if (auto st = worker->open_tcp(*tcp_port ? *tcp_port : worker->port()); !st) return st;
  }
  options.candidates.clear();
  options.tcp_candidates.clear();
  for (const auto& ip : ips) {
    options.candidates.emplace_back(ip, worker->port());
    if (worker->tcp_port()) options.tcp_candidates.emplace_back(ip, worker->tcp_port());
  }
  // Placement learns where streams start and end before anyone else hears.
  auto forward = std::move(options.on_stream_event);
  options.on_stream_event = [this, index, forward](const sfu::StreamEvent& e) {
    asio::post(control_, [this, index, e] { on_stream_event(index, e); });
    // A stream pulled from its node is that node's to announce.
    if (forward && !e.info.pulled) forward(e);
  };
  options.worker_index = uint8_t(index);
  net::MediaWorker* w = worker.get();
  options.open_link = [w] { return w->open_link(); };
  options.close_link = [w](uint16_t id) { w->close_link(id); };
  options.send_buffer = [w](size_t capacity) { return w->send_buffer(capacity); };
  if (pacing_) {
    w->set_pacing(true);
    options.send_at = [w](ByteSpan d, const SocketAddress& to, Timestamp release, uint32_t tag) {
      w->send_at(d, to, release, tag);
    };
  }
  auto engine = std::make_unique<sfu::Engine>(
      std::move(cert), [w](ByteSpan d, const SocketAddress& to) { w->send(d, to); },
      std::move(options));
  sfu::Engine* e = engine.get();
  worker->set_handlers([e](uint8_t* d, size_t n, const SocketAddress& from,
                           Timestamp now) { e->handle_datagram(d, n, from, now); },
                       [e](Timestamp now) { e->tick(now); }, kTickInterval);
  worker->set_wake_handler(
      [e](Timestamp now, Timestamp& arrival) { e->drain_relays(now, arrival); });
  worker->set_batch_handlers([e] { e->begin_batch(); }, [e] { e->end_batch(); });
  if (pacing_) {
    worker->set_release_handler(
        [e](const SocketAddress& to, uint32_t tag, Timestamp at) { e->on_released(to, tag, at); });
  }
  slots_.push_back({std::move(worker), std::move(engine)});
  inflight_.push_back(0);
  return {};
}

void WorkerPool::set_candidates(const std::vector<std::string>& ips) {
  for (auto& s : slots_) {
    std::vector<std::pair<std::string, uint16_t>> udp, tcp;
    for (const auto& ip : ips) {
      udp.emplace_back(ip, s.worker->port());
      if (s.worker->tcp_port()) tcp.emplace_back(ip, s.worker->tcp_port());
    }
    s.worker->set_reply_from_destination(ips.size() > 1);
    s.engine->set_candidates(std::move(udp), std::move(tcp));
  }
}

void WorkerPool::set_send_shape(net::SendShape shape) {
  for (auto& s : slots_) {
    s.worker->set_send_shape(shape);
    // The plain path is the one before GSO whole: each packet to every
    // viewer as it comes, not viewer by viewer at the batch's end.
    if (shape == net::SendShape::kPlain) s.worker->set_batch_handlers({}, {});
  }
}

void WorkerPool::start() {
  for (auto& s : slots_) s.worker->start();
}

void WorkerPool::stop() {
  // Graceful: every peer gets a DTLS close before its worker stops.
  for (auto& s : slots_) {
    if (!s.engine) continue;
    std::promise<void> done;
    sfu::Engine* e = s.engine.get();
    asio::post(s.worker->io(), [e, &done] {
      e->shutdown();
      done.set_value();
    });
    done.get_future().wait_for(std::chrono::seconds(2));
  }
  for (auto& s : slots_) s.worker->stop();
  for (auto& s : slots_) s.engine.reset();
}

void WorkerPool::run_on(size_t worker, Job job) {
  sfu::Engine* e = slots_[worker].engine.get();
  asio::post(slots_[worker].worker->io(), [e, job = std::move(job)] { job(*e); });
}

void WorkerPool::run_counted(size_t worker, Job job) {
  ++inflight_[worker];
  run_on(worker, [this, worker, job = std::move(job)](sfu::Engine& e) {
    job(e);
    asio::post(control_, [this, worker] { --inflight_[worker]; });
  });
}

size_t WorkerPool::peer_count() const {
  size_t n = 0;
  for (const auto& slot : slots_) n += slot.engine->peer_count();
  return n;
}

std::vector<size_t> WorkerPool::loads() const {
  std::vector<size_t> load(slots_.size(), 0);
  for (size_t i = 0; i < slots_.size(); ++i) {
    load[i] = slots_[i].engine->peer_count() + inflight_[i];
  }
  for (const auto& [name, p] : placement_) {
    if (!p.live) load[p.worker] += 1;
  }
  for (const auto& [key, relay] : relays_) load[key.second] += relay.waiting.size();
  return load;
}

size_t WorkerPool::least_loaded(const std::vector<size_t>& load, size_t preferred) {
  size_t best = preferred;
  for (size_t i = 0; i < load.size(); ++i) {
    if (load[i] < load[best]) best = i;
  }
  return best;
}

void WorkerPool::run_for_stream(const std::string& name, Job job) {
  auto it = placement_.find(name);
  run_on(it != placement_.end() ? it->second.worker : 0, std::move(job));
}

void WorkerPool::run_for_new_stream(const std::string& name, Job job) {
  const Timestamp now = Clock::now();
  for (auto it = placement_.begin(); it != placement_.end();) {
    const bool lapsed = !it->second.live && now - it->second.reserved_at > kReservationTimeout;
    it = lapsed ? placement_.erase(it) : std::next(it);
  }
  auto it = placement_.find(name);
  if (it == placement_.end()) {
    it = placement_.emplace(name, Placement{least_loaded(loads(), 0), false, now}).first;
  }
  run_on(it->second.worker, std::move(job));
}

void WorkerPool::run_for_viewer(const std::string& name, Job job) {
  auto it = placement_.find(name);
  if (it == placement_.end() || !it->second.live) return run_for_stream(name, std::move(job));
  const size_t origin = it->second.worker;
  const auto load = loads();
  size_t target = least_loaded(load, origin);
  // A new relay costs a ring and a retransmission cache (about 1.1 MB) and
  // a wake per packet: worth it for an audience that unbalances the
  // workers, not for a few viewers. Once a relay exists, viewers just go to
  // the least-loaded worker.
  if (target != origin && load[origin] - load[target] <= kRelayImbalance &&
      !relays_.count({name, target})) {
    target = origin;
  }
  if (target == origin) return run_counted(origin, std::move(job));
  Relay& relay = relays_[{name, target}];
  if (relay.ready) return run_counted(target, std::move(job));
  relay.waiting.push_back(std::move(job));
  if (relay.waiting.size() == 1) start_relay(name, origin, target);
}

void WorkerPool::start_relay(const std::string& name, size_t origin, size_t target) {
  net::MediaWorker* relay_worker = slots_[target].worker.get();
  auto link = std::make_shared<sfu::RelayLink>([relay_worker] { relay_worker->wake(); });
  run_on(origin, [this, name, origin, target, link](sfu::Engine& e) {
    auto source = e.attach_relay(name, link);
    asio::post(control_, [this, name, origin, target, link, source = std::move(source)]() mutable {
      auto it = relays_.find({name, target});
      if (it == relays_.end()) return;
      auto waiting = std::move(it->second.waiting);
      if (!source) {
        // The stream ended meanwhile: its engine answers "not live".
        relays_.erase(it);
        for (auto& job : waiting) run_counted(origin, std::move(job));
        return;
      }
      it->second.ready = true;
      run_on(target, [name, link, source = std::move(*source)](sfu::Engine& e) mutable {
        e.add_relay(name, std::move(source), link);
      });
      // Queued behind add_relay on the same worker, so they find the relay.
      for (auto& job : waiting) run_counted(target, std::move(job));
    });
  });
}

void WorkerPool::run_for_session(const std::string& name, const std::string& session_id, Job job) {
  const auto worker = sfu::Engine::worker_of_session(session_id);
  if (!worker || *worker >= slots_.size()) return run_for_stream(name, std::move(job));
  run_on(*worker, std::move(job));
}

void WorkerPool::run_on_all(Job job, std::function<void()> done) {
  auto remaining = std::make_shared<size_t>(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    run_on(i, [this, job, done, remaining](sfu::Engine& e) {
      job(e);
      asio::post(control_, [done, remaining] {
        if (--*remaining == 0) done();
      });
    });
  }
}

void WorkerPool::on_stream_event(size_t worker, const sfu::StreamEvent& e) {
  if (e.kind == sfu::StreamEvent::Kind::kStarted) {
    placement_[e.info.name] = Placement{worker, true, Clock::now()};
    spdlog::debug("stream '{}' lives on media worker {}", e.info.name, worker);
  } else if (auto it = placement_.find(e.info.name);
             it != placement_.end() && it->second.worker == worker) {
    placement_.erase(it);
    // Its relays end themselves (the origin told them); a relay still being
    // set up stays until its attach job reports back.
    for (auto r = relays_.lower_bound({e.info.name, 0});
         r != relays_.end() && r->first.first == e.info.name;) {
      r = r->second.ready ? relays_.erase(r) : std::next(r);
    }
  }
}

}  // namespace lss
