#pragma once
// An EngineRouter over one real engine that runs every job at once, as a
// pool of one worker would: front ends tested (and fuzzed) without threads.
#include <memory>

#include "dtls/dtls_certificate.hpp"
#include "sfu/engine.hpp"
#include "signal/engine_router.hpp"

namespace lss::signal {

class OneEngine : public EngineRouter {
 public:
  explicit OneEngine(std::shared_ptr<DtlsCertificate> cert = DtlsCertificate::generate().value(),
                     sfu::EngineOptions options = {})
      : engine_(
            std::move(cert), [](ByteSpan, const SocketAddress&) {}, std::move(options)) {}
  void run_for_stream(const std::string&, Job job) override { job(engine_); }
  void run_for_new_stream(const std::string&, Job job) override { job(engine_); }
  void run_for_viewer(const std::string&, Job job) override { job(engine_); }
  void run_for_session(const std::string&, const std::string&, Job job) override { job(engine_); }
  void run_on_all(Job job, std::function<void()> done) override {
    job(engine_);
    done();
  }
  sfu::Engine& engine() { return engine_; }

 private:
  sfu::Engine engine_;
};

}  // namespace lss::signal
