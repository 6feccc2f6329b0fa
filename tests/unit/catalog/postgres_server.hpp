#pragma once
// Starts a real PostgreSQL server (Debian's postgresql package) on loopback
// for the catalog contract tests, in a temporary folder, and stops it.
// initdb refuses to run as root, so as root it runs as the `postgres` user.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace lss::testing {

class PostgresServer {
 public:
  PostgresServer() {
    namespace fs = std::filesystem;
    std::string bin;
    std::error_code ec;
    if (fs::exists("/usr/lib/postgresql", ec)) {
      for (const auto& v : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        if (fs::exists(v.path() / "bin/initdb")) bin = (v.path() / "bin").string();
      }
    }
    if (bin.empty()) {
      why_ = "PostgreSQL is not installed (Debian package postgresql)";
      return;
    }
    dir_ = "/tmp/lss-pg-" + std::to_string(::getpid());
    port_ = 20000 + ::getpid() % 20000;
    const std::string as = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    const std::string q = "'";
    std::string cmd = "rm -rf " + dir_ + " && mkdir -p " + dir_ +
                      (::geteuid() == 0 ? " && chown postgres " + dir_ : "") + " && " + as + bin +
                      "/initdb -A trust -U lss -D " + dir_ + "/data >" + dir_ + "/initdb.log 2>&1" +
                      " && " + as + bin + "/pg_ctl -D " + dir_ + "/data -l " + dir_ +
                      "/server.log -w -o " + q + "-h 127.0.0.1 -p " + std::to_string(port_) +
                      " -k " + dir_ + q + " start >/dev/null 2>&1" + " && " + as + bin +
                      "/createdb -h 127.0.0.1 -p " + std::to_string(port_) + " -U lss lss_test";
    if (std::system(cmd.c_str()) != 0) {
      why_ = "could not start PostgreSQL (see " + dir_ + ")";
      return;
    }
    stop_cmd_ =
        as + bin + "/pg_ctl -D " + dir_ + "/data -m immediate stop >/dev/null 2>&1; rm -rf " + dir_;
    url_ = "postgresql://lss@127.0.0.1:" + std::to_string(port_) + "/lss_test";
  }
  ~PostgresServer() {
    if (!stop_cmd_.empty()) (void)!std::system(stop_cmd_.c_str());
  }
  bool running() const { return !url_.empty(); }
  const std::string& url() const { return url_; }
  const std::string& why_not() const { return why_; }

 private:
  std::string dir_, url_, why_, stop_cmd_;
  int port_ = 0;
};

}  // namespace lss::testing
