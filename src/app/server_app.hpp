#pragma once
// Wires the server together: the control thread (HTTP, signalling), the media
// workers, the stream registry, and graceful shutdown on SIGINT/SIGTERM.
#include <memory>

#include "app/config.hpp"

namespace lss {

class ServerApp {
 public:
  explicit ServerApp(Config config);
  ~ServerApp();
  // Runs until a termination signal; returns the process exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lss
