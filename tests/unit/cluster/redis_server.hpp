#pragma once
// Starts a real redis-server (Debian's redis-server package) on loopback for
// the cluster tests, without persistence, and stops it. stop() and start()
// again on the same port stand in for a Redis restart.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cluster/redis_client.hpp"

namespace lss::testing {

class RedisServer {
 public:
  explicit RedisServer(std::string password = "") : password_(std::move(password)) {
    if (!std::filesystem::exists(kBin)) {
      why_ = "redis-server is not installed (Debian package redis-server)";
      return;
    }
    port_ = 21000 + (::getpid() * 7 + counter()++) % 20000;
    start();
  }
  ~RedisServer() { stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  void start() {
    std::vector<std::string> args{
        kBin,           "--port", std::to_string(port_), "--bind", "127.0.0.1",  "--save", "",
        "--appendonly", "no",     "--daemonize",         "no",     "--loglevel", "warning"};
    if (!password_.empty()) args.insert(args.end(), {"--requirepass", password_});
    pid_ = ::fork();
    if (pid_ == 0) {
      // Its start-up warnings (memory overcommit) are not the test's output.
      const int null = ::open("/dev/null", O_WRONLY);
      if (null >= 0) {
        ::dup2(null, 1);
        ::dup2(null, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kBin, argv.data());
      ::_exit(127);
    }
    // Ready once it answers (NOAUTH counts: it is up).
    cluster::RedisUrl url;
    url.host = "127.0.0.1";
    url.port = port_;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
      cluster::RedisClient probe(url, std::chrono::milliseconds(200));
      if (probe.command({"PING"}).ok()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    why_ = "redis-server did not answer on port " + std::to_string(port_);
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  bool running() const { return pid_ > 0 && why_.empty(); }
  const std::string& why_not() const { return why_; }
  int port() const { return port_; }
  std::string url() const {
    return "redis://" + (password_.empty() ? "" : ":" + password_ + "@") +
           "127.0.0.1:" + std::to_string(port_);
  }

 private:
  static constexpr const char* kBin = "/usr/bin/redis-server";
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string password_, why_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace lss::testing
