// PUBLIC_IP / STUN_SERVERS as configured, the host's candidate addresses,
// and PUBLIC_IP=auto's exchange with a real STUN responder on loopback.
#include "app/public_ip.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "app/config.hpp"
#include "app/stun_discovery.hpp"
#include "net/host_addresses.hpp"
#include "stun/stun_message.hpp"

namespace lss {
namespace {

TEST(PublicIp, LiteralsAutoAndErrors) {
  auto s = parse_public_ip({"203.0.113.10", "[2001:DB8::10]", "auto", "203.0.113.10"});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->auto_discover);
  EXPECT_EQ(s->addresses, (std::vector<std::string>{"203.0.113.10", "2001:db8::10"}));

  EXPECT_FALSE(parse_public_ip({"auto", "AUTO"}).ok());
  for (const char* bad : {"example.com", "1.2.3.4:80", "0.0.0.0", "::", "224.0.0.1", "ff02::1",
                          "fe80::1%eth0", "../etc"}) {
    auto r = parse_public_ip({bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("PUBLIC_IP"), std::string::npos);
  }
}

TEST(PublicIp, StunUris) {
  auto a = parse_stun_uri("stun:stun.example.org");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "stun.example.org");
  EXPECT_EQ(a->port, 3478);
  auto b = parse_stun_uri("stun:[2001:db8::1]:19302");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "2001:db8::1");
  EXPECT_EQ(b->port, 19302);
  auto c = parse_stun_uri("stun:127.0.0.1:3479");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 3479);
  EXPECT_FALSE(parse_stun_uri("stuns:stun.example.org").ok());
  EXPECT_FALSE(parse_stun_uri("turn:turn.example.org").ok());
  EXPECT_FALSE(parse_stun_uri("stun:host:0").ok());
  EXPECT_FALSE(parse_stun_uri("stun:host:70000").ok());
}

TEST(PublicIp, AutoNeedsAStunServerFromEitherSetting) {
  Config c;
  c.public_ip_auto = true;
  EXPECT_FALSE(validate_stun_servers(c).ok());
  c.ice_servers = {"turn:turn.example.org", "stun:stun.example.org:3478"};
  EXPECT_TRUE(validate_stun_servers(c).ok());
  EXPECT_EQ(auto_stun_servers(c), std::vector<std::string>{"stun:stun.example.org:3478"});
  c.stun_servers = {"stun:127.0.0.1:9"};
  EXPECT_EQ(auto_stun_servers(c), std::vector<std::string>{"stun:127.0.0.1:9"});
  c.stun_servers = {"turn:x"};
  EXPECT_FALSE(validate_stun_servers(c).ok());
}

TEST(PublicIp, MappedAddressGoesFirst) {
  EXPECT_EQ(with_mapped_address("198.51.100.1", {"10.0.0.2", "198.51.100.1", "127.0.0.1"}),
            (std::vector<std::string>{"198.51.100.1", "10.0.0.2", "127.0.0.1"}));
}

net::InterfaceAddress iface(const char* ip, bool loopback = false, unsigned flags = 0) {
  net::InterfaceAddress a;
  a.address = *SocketAddress::parse(ip, 0);
  a.up = true;
  a.loopback_interface = loopback;
  a.ipv6_flags = flags;
  return a;
}

TEST(HostAddresses, Ipv4ThenLoopbackThenReachableIpv6) {
  auto down = iface("10.9.9.9");
  down.up = false;
  const auto out = net::order_host_candidates({
      iface("127.0.0.1", true),
      iface("::1", true),
      iface("fe80::1"),
      iface("2001:db8::5"),
      iface("192.168.1.4"),
      iface("fd00::7"),
      iface("2001:db8::6", false, net::kIfaTemporary),
      iface("2001:db8::8", false, net::kIfaDeprecated),
      down,
      iface("192.168.1.4"),
  });
  EXPECT_EQ(out, (std::vector<std::string>{"192.168.1.4", "127.0.0.1", "2001:db8::5", "fd00::7"}));
}

TEST(HostAddresses, IfInet6Lines) {
  auto p = net::parse_if_inet6_line("20010db8000000000000000000000005 02 40 00 80     eth0");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first.ip_string(), "2001:db8::5");
  EXPECT_EQ(p->second, 0x80u);
  EXPECT_FALSE(net::parse_if_inet6_line("2001:db8::5 02 40 00 80 eth0"));
  EXPECT_FALSE(net::parse_if_inet6_line("20010db8000000000000000000000005"));
  EXPECT_FALSE(net::parse_if_inet6_line(""));
}

// A UDP socket on 127.0.0.1, non-blocking like a media worker's.
int udp_socket(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  socklen_t len = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  *port = ntohs(sin.sin_port);
  return fd;
}

// Answers Binding requests on loopback with the requester's address as
// XOR-MAPPED-ADDRESS (what a STUN server does), after `ignore` requests.
class StunResponder {
 public:
  explicit StunResponder(int ignore = 0) : ignore_(ignore) {
    fd_ = udp_socket(&port_);
    thread_ = std::thread([this] { run(); });
  }
  ~StunResponder() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void run() {
    uint8_t buf[1500];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n =
          ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      auto m = StunMessage::parse(ByteSpan(buf, size_t(n)));
      if (!m.ok() || m->type() != stun::kBindingRequest) continue;
      if (requests_++ < ignore_) continue;  // "lost"
      SocketAddress mapped = *SocketAddress::parse("127.0.0.1", ntohs(from.sin_port));
      const Bytes resp = StunBuilder(stun::kBindingSuccess, m->transaction_id())
                             .add_xor_mapped_address(mapped)
                             .finish({}, true);
      ::sendto(fd_, resp.data(), resp.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  int fd_ = -1, ignore_ = 0;
  uint16_t port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(StunDiscovery, AsksThroughTheGivenSocketAndRetransmits) {
  StunResponder server(/*ignore=*/1);  // the first request is lost: the retransmission answers
  uint16_t port = 0;
  const int fd = udp_socket(&port);
  const auto r = query_mapped_address(fd, {"stun:127.0.0.1:" + std::to_string(server.port())},
                                      std::chrono::seconds(3));
  ::close(fd);
  ASSERT_TRUE(r.mapped) << (r.problems.empty() ? "" : r.problems[0]);
  EXPECT_EQ(r.mapped->ip_string(), "127.0.0.1");
  EXPECT_EQ(r.mapped->port, port);  // the socket's own mapping, not another's
  EXPECT_EQ(r.server, "stun:127.0.0.1:" + std::to_string(server.port()));
  EXPECT_GE(server.requests(), 2);
}

TEST(StunDiscovery, SilentAndBadServersAreReportedAndTheNextOneAsked) {
  StunResponder good;
  uint16_t silent_port = 0, port = 0;
  const int silent = udp_socket(&silent_port);  // bound, never answers
  const int fd = udp_socket(&port);
  const std::string silent_uri = "stun:127.0.0.1:" + std::to_string(silent_port);
  const auto r = query_mapped_address(
      fd, {"turn:127.0.0.1", silent_uri, "stun:127.0.0.1:" + std::to_string(good.port())},
      std::chrono::milliseconds(700));
  ::close(fd);
  ::close(silent);
  ASSERT_TRUE(r.mapped);
  EXPECT_EQ(r.mapped->port, port);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_NE(r.problems[0].find("turn:127.0.0.1"), std::string::npos);
  EXPECT_NE(r.problems[1].find(silent_uri), std::string::npos);
}

TEST(StunDiscovery, NoAnswerGivesNoAddressAndSaysWhy) {
  uint16_t silent_port = 0, port = 0;
  const int silent = udp_socket(&silent_port);
  const int fd = udp_socket(&port);
  const auto r = query_mapped_address(fd, {"stun:127.0.0.1:" + std::to_string(silent_port)},
                                      std::chrono::milliseconds(600));
  ::close(fd);
  ::close(silent);
  EXPECT_FALSE(r.mapped);
  ASSERT_EQ(r.problems.size(), 1u);
}

}  // namespace
}  // namespace lss
