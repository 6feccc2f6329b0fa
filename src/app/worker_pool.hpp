#pragma once
// The media workers: one thread, one UDP socket (UDP_PORT + index) and one
// SFU engine each. A stream lives on one worker (its publisher); a new
// stream goes to the least-loaded worker, and so does a new viewer once the
// stream's worker is clearly busier than another: the stream's packets then
// reach that worker through a relay (one per stream and worker), so a large
// audience spreads over every core.
// Routing (EngineRouter) runs on the control thread.
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "dtls/dtls_certificate.hpp"
#include "net/media_worker.hpp"
#include "sfu/engine.hpp"
#include "signal/engine_router.hpp"

namespace lss {

class WorkerPool : public signal::EngineRouter {
 public:
  explicit WorkerPool(boost::asio::io_context& control) : control_(control) {}
  ~WorkerPool() override;

  // Opens worker `size()` on `port` (0: any) with an engine made from
  // `options`, its candidates being `ips` at the worker's port.
  // `tcp_port`: also ICE-TCP on that port (0: the worker's UDP port number).
  Status add_worker(uint16_t port, std::shared_ptr<DtlsCertificate> cert,
                    sfu::EngineOptions options, const std::vector<std::string>& ips,
                    std::optional<uint16_t> tcp_port = std::nullopt);
  // Replaces every worker's candidates with `ips` at its ports, as
  // add_worker() made them; before start().
  void set_candidates(const std::vector<std::string>& ips);
  // Every worker's send path (SEND_PATH); before start().
  void set_send_shape(net::SendShape shape);
  // How every worker hands its messages to the kernel (SEND_PATH=io_uring,
  // connected); before add_worker().
  void set_send_via(net::SendVia via) { send_via_ = via; }
  // SEND_PATH=xdp: the device every worker's AF_XDP socket sends on
  // (XDP_DEVICE); before add_worker().
  void set_xdp_device(std::string device) { xdp_device_ = std::move(device); }
  // PACING: viewers' packets leave at their pacer's times
  // (sfu/burst_pacer.hpp, net/paced_sends.hpp); before add_worker().
  void set_pacing(bool on) { pacing_ = on; }
  void start();
  // Ends every peer (DTLS close) and joins the worker threads.
  void stop();

  size_t size() const { return slots_.size(); }
  net::MediaWorker& worker(size_t i) { return *slots_[i].worker; }
  // Open peers on every worker; from any thread once the workers are added.
  size_t peer_count() const;

  // EngineRouter (control thread)
  void run_for_stream(const std::string& name, Job job) override;
  void run_for_new_stream(const std::string& name, Job job) override;
  void run_for_viewer(const std::string& name, Job job) override;
  void run_for_session(const std::string& name, const std::string& session_id, Job job) override;
  void run_on_all(Job job, std::function<void()> done) override;

  // A reservation that never became a stream is dropped after this.
  static constexpr Duration kReservationTimeout = std::chrono::seconds(90);
  // A stream's worker takes its new viewers until it has this many more
  // peers than the least-loaded worker; beyond, they go to a relay there.
  static constexpr size_t kRelayImbalance = 8;

 private:
  struct Slot {
    std::unique_ptr<net::MediaWorker> worker;
    std::unique_ptr<sfu::Engine> engine;
  };
  struct Placement {
    size_t worker = 0;
    bool live = false;
    Timestamp reserved_at{};
  };
  void run_on(size_t worker, Job job);
  // As run_on, counted in the worker's load until the job has run.
  void run_counted(size_t worker, Job job);
  // Peers per worker, plus what is on its way there (reserved streams,
  // viewer jobs not yet run), so a burst of requests spreads.
  std::vector<size_t> loads() const;
  // The worker with the least load; ties go to `preferred`.
  static size_t least_loaded(const std::vector<size_t>& load, size_t preferred);
  // Links stream `name` on `origin` to a new relay on `target`, then runs
  // the viewer jobs waiting for it.
  void start_relay(const std::string& name, size_t origin, size_t target);
  void on_stream_event(size_t worker, const sfu::StreamEvent& e);  // control thread

  boost::asio::io_context& control_;
  std::vector<Slot> slots_;
  std::map<std::string, Placement> placement_;  // stream name -> worker (control thread)
  struct Relay {
    bool ready = false;
    std::vector<Job> waiting;  // viewer jobs to run once the relay exists
  };
  std::map<std::pair<std::string, size_t>, Relay> relays_;  // (stream, relay worker)
  bool pacing_ = false;
  net::SendVia send_via_ = net::SendVia::kSendmmsg;
  std::string xdp_device_;
  std::vector<size_t> inflight_;  // counted jobs posted to each worker, not yet run
};

}  // namespace lss
