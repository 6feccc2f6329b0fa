// The HTTP server's defences against clients that hold connections
// (slowloris): a request's header and body must arrive in time however it
// is trickled, keep-alive connections still wait the idle timeout between
// requests, one address cannot take more than its share of connections, and
// an accept that fails for want of descriptors waits instead of spinning.
// Real sockets on loopback; the server's io_context runs on the test thread.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/log_throttle.hpp"
#include "http/connection_limiter.hpp"
#include "http/http_server.hpp"
#include "http/router.hpp"

namespace lss::http {
namespace {

using std::chrono::milliseconds;

// A plain POSIX client, so the test reads without blocking and without a
// second io_context: connect() completes in the server's backlog.
class Client {
 public:
  explicit Client(uint16_t port, const char* local = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, local, &a.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close_fd();
      return;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) close_fd();
  }
  ~Client() { close_fd(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(std::string_view s) {
    return fd_ >= 0 && ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size());
  }
  // Takes what has arrived; notices the server's close (EOF or reset).
  void poll() {
    char buf[4096];
    while (fd_ >= 0 && !closed) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        received.append(buf, size_t(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        closed = true;
      } else {
        break;
      }
    }
  }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string received;
  bool closed = false;

 private:
  int fd_ = -1;
};

constexpr std::string_view kGet = "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n";

class HttpLimitsTest : public ::testing::Test {
 protected:
  void start(ServerLimits limits) {
    router_.add("/hello", [](const Request& req, const RequestContext&, Responder respond) {
      respond(make_response(req, Status::ok, "hi\n"));
    });
    server_ = std::make_unique<HttpServer>(io_, router_, limits);
    ASSERT_TRUE(server_->listen("127.0.0.1", 0).ok());
    port_ = server_->local_port();
  }
  // Runs the server (and polls the clients) until `done` or `limit`.
  bool run_until(const std::function<bool()>& done, milliseconds limit,
                 std::vector<Client*> clients = {}) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      io_.run_for(milliseconds(5));
      for (Client* c : clients) c->poll();
      if (done()) return true;
    }
    return done();
  }
  void run_for(milliseconds d, std::vector<Client*> clients = {}) {
    run_until([] { return false; }, d, std::move(clients));
  }
  static double ms_since(Timestamp t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  }

  boost::asio::io_context io_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

TEST_F(HttpLimitsTest, ATrickledHeaderIsCutOffAtTheHeaderTimeout) {
  ServerLimits limits;
  limits.header_timeout = milliseconds(500);
  limits.idle_timeout = std::chrono::seconds(30);
  start(limits);
  Client trickler(port_), silent(port_);
  ASSERT_TRUE(trickler.connected() && silent.connected());
  const auto t0 = Clock::now();
  ASSERT_TRUE(trickler.send("GET /hello HTTP/1.1\r\nX-Slow: "));
  // A byte every 100 ms: each one would restart a per-read timeout.
  while (!trickler.closed && ms_since(t0) < 5000) {
    trickler.send("a");
    run_for(milliseconds(100), {&trickler, &silent});
  }
  EXPECT_TRUE(trickler.closed);
  EXPECT_GE(ms_since(t0), 400);
  EXPECT_LT(ms_since(t0), 1500) << "closed long after the header timeout";
  EXPECT_EQ(trickler.received, "") << "no answer, just the close";
  // One that sends nothing at all is closed as soon.
  EXPECT_TRUE(run_until([&] { return silent.closed; }, milliseconds(500), {&silent}));
}

TEST_F(HttpLimitsTest, KeepAliveWaitsTheIdleTimeoutBetweenRequestsNotTheHeaderTimeout) {
  ServerLimits limits;
  limits.header_timeout = milliseconds(300);
  limits.idle_timeout = milliseconds(2000);
  start(limits);
  Client c(port_);
  ASSERT_TRUE(c.send(kGet));
  ASSERT_TRUE(run_until([&] { return c.received.find("hi\n") != std::string::npos; },
                        milliseconds(2000), {&c}));
  // Idle for longer than the header timeout: still open, and served.
  run_for(milliseconds(800), {&c});
  ASSERT_FALSE(c.closed);
  c.received.clear();
  ASSERT_TRUE(c.send(kGet));
  ASSERT_TRUE(run_until([&] { return c.received.find("hi\n") != std::string::npos; },
                        milliseconds(2000), {&c}));
  // Then the idle timeout ends it.
  const auto t0 = Clock::now();
  EXPECT_TRUE(run_until([&] { return c.closed; }, milliseconds(4000), {&c}));
  EXPECT_GE(ms_since(t0), 1500);
  // A keep-alive request's header gets the header timeout from its first byte.
  Client k(port_);
  ASSERT_TRUE(k.send(kGet));
  ASSERT_TRUE(run_until([&] { return k.received.find("hi\n") != std::string::npos; },
                        milliseconds(2000), {&k}));
  const auto t1 = Clock::now();
  ASSERT_TRUE(k.send("GET /hello HTTP/1.1\r\n"));
  while (!k.closed && ms_since(t1) < 3000) {
    k.send("X: y\r\n");
    run_for(milliseconds(50), {&k});
  }
  EXPECT_TRUE(k.closed);
  EXPECT_LT(ms_since(t1), 1000);
}

TEST_F(HttpLimitsTest, ATrickledBodyIsCutOffAtTheBodyTimeout) {
  ServerLimits limits;
  limits.header_timeout = milliseconds(2000);
  limits.body_timeout = milliseconds(500);
  start(limits);
  Client c(port_);
  ASSERT_TRUE(c.send("POST /hello HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n"));
  const auto t0 = Clock::now();
  while (!c.closed && ms_since(t0) < 5000) {
    c.send("b");
    run_for(milliseconds(100), {&c});
  }
  EXPECT_TRUE(c.closed);
  EXPECT_LT(ms_since(t0), 1500);
  EXPECT_EQ(c.received, "");
}

TEST_F(HttpLimitsTest, OneAddressPastItsCapIsRefusedWhileAnotherGetsIn) {
  ServerLimits limits;
  limits.max_connections_per_address = 3;
  limits.limit_loopback = true;  // 127.0.0.1 and 127.0.0.2 stand in for two clients
  limits.header_timeout = std::chrono::seconds(10);
  start(limits);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(port_));
    ASSERT_TRUE(held.back()->connected());
  }
  run_for(milliseconds(100));  // accepted: the three count
  Client extra(port_);
  ASSERT_TRUE(extra.connected());  // the kernel's handshake; the server closes it
  EXPECT_TRUE(run_until([&] { return extra.closed; }, milliseconds(1000), {&extra}));
  EXPECT_EQ(extra.received, "");
  EXPECT_EQ(server_->refused_per_address(), 1u);
  // Another address is served meanwhile, and so are the held ones.
  Client other(port_, "127.0.0.2");
  ASSERT_TRUE(other.connected());
  ASSERT_TRUE(other.send(kGet));
  EXPECT_TRUE(run_until([&] { return other.received.find("hi\n") != std::string::npos; },
                        milliseconds(2000), {&other}));
  ASSERT_TRUE(held[0]->send(kGet));
  EXPECT_TRUE(run_until([&] { return held[0]->received.find("hi\n") != std::string::npos; },
                        milliseconds(2000), {held[0].get()}));
  // One of them leaves: its place is free again.
  held[2].reset();
  run_for(milliseconds(100));
  Client again(port_);
  ASSERT_TRUE(again.send(kGet));
  EXPECT_TRUE(run_until([&] { return again.received.find("hi\n") != std::string::npos; },
                        milliseconds(2000), {&again}));
  EXPECT_EQ(server_->refused_per_address(), 1u);
}

// HTTP_MAX_CONNECTIONS: past the server-wide cap every new connection is
// closed unanswered, loopback included; a place that frees up is taken again.
TEST_F(HttpLimitsTest, PastTheServerWideCapNewConnectionsAreClosedUntilOneLeaves) {
  ServerLimits limits;
  limits.max_connections = 3;
  limits.header_timeout = std::chrono::seconds(10);
  start(limits);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(port_, i % 2 ? "127.0.0.2" : "127.0.0.1"));
    ASSERT_TRUE(held.back()->connected());
  }
  run_for(milliseconds(100));
  for (const char* from : {"127.0.0.1", "127.0.0.2"}) {
    Client extra(port_, from);
    ASSERT_TRUE(extra.connected());
    (void)extra.send(kGet);
    EXPECT_TRUE(run_until([&] { return extra.closed; }, milliseconds(1000), {&extra})) << from;
    EXPECT_EQ(extra.received, "") << from;
  }
  // The held ones are still served.
  ASSERT_TRUE(held[1]->send(kGet));
  EXPECT_TRUE(run_until([&] { return held[1]->received.find("hi\n") != std::string::npos; },
                        milliseconds(2000), {held[1].get()}));
  held[0].reset();
  run_for(milliseconds(100));
  Client again(port_);
  ASSERT_TRUE(again.send(kGet));
  EXPECT_TRUE(run_until([&] { return again.received.find("hi\n") != std::string::npos; },
                        milliseconds(2000), {&again}));
}

TEST_F(HttpLimitsTest, LoopbackIsNotCapped) {
  ServerLimits limits;
  limits.max_connections_per_address = 2;
  start(limits);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) clients.push_back(std::make_unique<Client>(port_));
  std::vector<Client*> all;
  for (auto& c : clients) {
    ASSERT_TRUE(c->send(kGet));
    all.push_back(c.get());
  }
  EXPECT_TRUE(run_until(
      [&] {
        for (auto* c : all)
          if (c->received.find("hi\n") == std::string::npos) return false;
        return true;
      },
      milliseconds(3000), all));
  EXPECT_EQ(server_->refused_per_address(), 0u);
}

// The sanitizers' runtime needs descriptors of its own (UBSan's vptr check
// probes memory through a pipe, and reports every object as invalid when it
// cannot open one), so this test runs in the plain build only.
#if defined(__SANITIZE_ADDRESS__)
#define LSS_SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LSS_SANITIZED_BUILD 1
#endif
#endif

TEST_F(HttpLimitsTest, AnAcceptOutOfDescriptorsWaitsInsteadOfSpinning) {
#ifdef LSS_SANITIZED_BUILD
  GTEST_SKIP() << "the sanitizer runtime itself fails without descriptors";
#endif
  start({});
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit low = old;
  low.rlim_cur = std::min<rlim_t>(old.rlim_cur, 128);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  // Every descriptor taken but one, which the client's socket takes: the
  // server's accept then has none.
  std::vector<int> fillers;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) fillers.push_back(fd);
  ASSERT_FALSE(fillers.empty());
  ::close(fillers.back());
  fillers.pop_back();
  auto c = std::make_unique<Client>(port_);
  ASSERT_TRUE(c->connected());
  run_for(milliseconds(600));
  const size_t errors = server_->accept_errors();
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 10u) << "accept retried without a pause";
  // Descriptors free again: the waiting connection is served.
  for (int fd : fillers) ::close(fd);
  fillers.clear();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_TRUE(c->send(kGet));
  EXPECT_TRUE(run_until([&] { return c->received.find("hi\n") != std::string::npos; },
                        milliseconds(2000), {c.get()}));
}

SocketAddress addr(const char* ip) {
  return *SocketAddress::parse(ip, 40000);
}

TEST(ConnectionLimiter, CountsPerAddressAndIpv6PerSlash64) {
  ConnectionLimiter limiter(2);
  auto a1 = limiter.acquire(addr("192.0.2.1"));
  auto a2 = limiter.acquire(addr("192.0.2.1"));
  ASSERT_TRUE(a1 && a2);
  EXPECT_FALSE(limiter.acquire(addr("192.0.2.1")));
  EXPECT_TRUE(limiter.full(addr("192.0.2.1")));
  EXPECT_TRUE(limiter.acquire(addr("192.0.2.2")));  // released at once
  // One /64 is one client, whatever its addresses.
  auto b1 = limiter.acquire(addr("2001:db8:0:1::1"));
  auto b2 = limiter.acquire(addr("2001:db8:0:1:ffff::2"));
  ASSERT_TRUE(b1 && b2);
  EXPECT_FALSE(limiter.acquire(addr("2001:db8:0:1::3")));
  EXPECT_TRUE(limiter.acquire(addr("2001:db8:0:2::1")));
  EXPECT_EQ(limiter.open(addr("2001:db8:0:1::9")), 2u);
  // Loopback is not counted.
  std::vector<ConnectionLimiter::Slot> loop;
  for (int i = 0; i < 10; ++i) {
    auto s = limiter.acquire(addr(i % 2 ? "127.0.0.1" : "::1"));
    ASSERT_TRUE(s);
    loop.push_back(std::move(*s));
  }
  EXPECT_EQ(limiter.tracked(), 2u);
  // A slot given back (destroyed, or moved over) frees its place; empty
  // addresses are forgotten.
  a1.reset();
  EXPECT_TRUE(limiter.acquire(addr("192.0.2.1")));
  *b1 = std::move(*b2);
  EXPECT_EQ(limiter.open(addr("2001:db8:0:1::1")), 1u);
  a2.reset();
  b1.reset();
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(ConnectionLimiter, ZeroIsNoLimit) {
  ConnectionLimiter limiter(0);
  std::vector<ConnectionLimiter::Slot> slots;
  for (int i = 0; i < 1000; ++i) slots.push_back(std::move(*limiter.acquire(addr("192.0.2.1"))));
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(LogThrottle, OneLinePerIntervalWithTheCountHeldBack) {
  LogThrottle t(std::chrono::seconds(10));
  Timestamp now = Clock::now();
  EXPECT_EQ(t.admit(now).value_or(0), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(t.admit(now + std::chrono::seconds(1)));
  EXPECT_EQ(t.admit(now + std::chrono::seconds(10)).value_or(0), 6u);
  EXPECT_FALSE(t.admit(now + std::chrono::seconds(11)));
  EXPECT_EQ(t.admit(now + std::chrono::seconds(25)).value_or(0), 2u);
}

}  // namespace
}  // namespace lss::http
