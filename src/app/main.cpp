// live-stream-server entry point: configuration, logging, signals, then the
// ServerApp runs until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "app/config.hpp"
#include "app/server_app.hpp"
#include "common/malloc_tuning.hpp"
#include "dtls/openssl_memory.hpp"

// Idle DTLS connections keep OpenSSL's large buffers as address space only
// (~38 KB less RSS per viewer), provided the hooks are in before OpenSSL's
// first allocation, which libmongoc's ELF constructor makes before main.
LSS_OPENSSL_MEMORY_PREINIT();

int main(int argc, char** argv) {
  const bool openssl_memory = lss::openssl_memory::installed();
  // Sessions' large buffers go back to the system when they end.
  lss::fix_malloc_mmap_threshold();
  auto outcome = lss::load_config(argc, argv);
  if (outcome.kind == lss::ConfigOutcome::Kind::kExitOk) {
    std::fputs(outcome.message.c_str(), stdout);
    return 0;
  }
  if (outcome.kind == lss::ConfigOutcome::Kind::kExitError) {
    std::fprintf(stderr, "live-stream-server: %s\n", outcome.message.c_str());
    return outcome.exit_code;
  }
  spdlog::set_level(spdlog::level::from_str(outcome.config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
  if (!openssl_memory) spdlog::warn("OpenSSL allocated before main: DTLS buffers stay resident");
  lss::ServerApp app(std::move(outcome.config));
  return app.run();
}
