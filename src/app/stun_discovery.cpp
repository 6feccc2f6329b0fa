#include "app/stun_discovery.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "app/config.hpp"
#include "app/public_ip.hpp"
#include "app/worker_pool.hpp"
#include "net/sockaddr.hpp"
#include "stun/stun_binding_client.hpp"

namespace lss {

namespace {

bool dual_stack(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET6;
}

// The server's addresses the socket can send to, IPv4 first (behind a NAT
// the IPv4 mapping is the one a public address is wanted for).
Result<std::vector<SocketAddress>> resolve(const StunServerUri& server, bool v6_socket) {
  std::vector<SocketAddress> out;
  if (auto literal = SocketAddress::parse(server.host, server.port)) {
    if (!literal->is_ipv4() && !v6_socket)
      return make_error("IPv6 server, and this host's media socket is IPv4 only");
    out.push_back(*literal);
    return out;
  }
  addrinfo hints{};
  hints.ai_family = v6_socket ? AF_UNSPEC : AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* list = nullptr;
  if (int rc = ::getaddrinfo(server.host.c_str(), nullptr, &hints, &list); rc != 0) {
    return make_error("cannot resolve " + server.host + ": " + ::gai_strerror(rc));
  }
  for (addrinfo* i = list; i; i = i->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, i->ai_addr, std::min<size_t>(i->ai_addrlen, sizeof ss));
    SocketAddress a = net::from_sockaddr(ss);
    a.port = server.port;
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  ::freeaddrinfo(list);
  std::stable_partition(out.begin(), out.end(), [](const SocketAddress& a) { return a.is_ipv4(); });
  if (out.empty()) return make_error("cannot resolve " + server.host + ": no address");
  return out;
}

struct Answer {
  std::optional<SocketAddress> mapped;
  std::string error;    // without `mapped`: what went wrong
  bool unsent = false;  // the request could not even be sent (no route...)
};

// One transaction with `to`.
Answer ask(int fd, bool v6_socket, const SocketAddress& to, Duration timeout) {
  StunBindingTransaction t(random_transaction_id(), Clock::now(), timeout);
  sockaddr_storage dest;
  const socklen_t dest_len = net::to_sockaddr(to, v6_socket, dest);
  uint8_t buf[2048];
  for (;;) {
    const Timestamp now = Clock::now();
    if (t.timed_out(now)) return {std::nullopt, t.error()};
    if (t.due(now)) {
      const auto& req = t.request();
      if (::sendto(fd, req.data(), req.size(), 0, reinterpret_cast<const sockaddr*>(&dest),
                   dest_len) < 0 &&
          errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return {std::nullopt, std::string("cannot send: ") + std::strerror(errno), true};
      }
    }
    const auto wait = std::chrono::ceil<milliseconds>(t.next_event() - Clock::now());
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, int(std::max<int64_t>(0, wait.count()))) <= 0) continue;
    for (;;) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      const ssize_t n = ::recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) break;  // EAGAIN: read everything there was
      // Only the server asked may answer (anything else is stray traffic).
      if (!(net::from_sockaddr(from) == to)) continue;
      if (t.handle_response(ByteSpan(buf, size_t(n)))) break;
    }
    if (t.state() == StunBindingTransaction::State::kMapped) return {t.mapped_address(), {}};
    if (t.state() == StunBindingTransaction::State::kFailed) return {std::nullopt, t.error()};
  }
}

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

}  // namespace

StunQueryResult query_mapped_address(int fd, const std::vector<std::string>& servers,
                                     Duration per_server) {
  StunQueryResult out;
  const bool v6_socket = dual_stack(fd);
  for (const auto& uri : servers) {
    auto server = parse_stun_uri(uri);
    if (!server.ok()) {
      out.problems.push_back(uri + ": " + server.error().message);
      continue;
    }
    auto addresses = resolve(*server, v6_socket);
    if (!addresses.ok()) {
      out.problems.push_back(uri + ": " + addresses.error().message);
      continue;
    }
    // The first address that takes a request gets the whole timeout; one
    // the host cannot send to at all (no route) gives way to the next.
    std::string problem;
    for (const auto& to : *addresses) {
      const Answer a = ask(fd, v6_socket, to, per_server);
      if (a.mapped) {
        out.mapped = a.mapped;
        out.server = uri;
        return out;
      }
      problem += (problem.empty() ? "" : "; ") + to.to_string() + ": " + a.error;
      if (!a.unsent) break;
    }
    out.problems.push_back(uri + ": " + problem);
  }
  return out;
}

std::vector<std::string> apply_public_ip_auto(const Config& config, WorkerPool& workers,
                                              std::vector<std::string> ips) {
  const auto servers = auto_stun_servers(config);
  net::MediaWorker& first = workers.worker(0);
  spdlog::info("PUBLIC_IP=auto: asking {} for the public address of UDP port {}",
               joined(servers, ", "), first.port());
  const StunQueryResult r = query_mapped_address(first.udp_handle(), servers);
  if (!r.mapped) {
    spdlog::error(
        "PUBLIC_IP=auto: no STUN server answered ({}), so the candidates carry only this host's "
        "addresses ({}): clients beyond its networks may not reach the media. Check that UDP to "
        "the STUN servers is allowed, or set PUBLIC_IP to the public address",
        joined(r.problems, "; "), joined(ips, ", "));
    return ips;
  }
  for (const auto& p : r.problems) spdlog::warn("PUBLIC_IP=auto: STUN server {}", p);
  const std::string ip = r.mapped->ip_string();
  const bool known = std::find(ips.begin(), ips.end(), ip) != ips.end();
  ips = with_mapped_address(ip, ips);
  workers.set_candidates(ips);
  spdlog::info("PUBLIC_IP=auto: {} sees UDP port {} as {}{}", r.server, first.port(),
               r.mapped->to_string(), known ? " (one of this host's own addresses)" : "");
  if (r.mapped->port != first.port()) {
    spdlog::warn(
        "PUBLIC_IP=auto: the NAT maps UDP port {} to port {}, and the candidates announce {} at "
        "the media workers' own ports: forward UDP {}-{} to this host (a 1:1 NAT, as cloud "
        "hosts have, keeps the ports)",
        first.port(), r.mapped->port, ip, workers.worker(0).port(),
        workers.worker(workers.size() - 1).port());
  }
  return ips;
}

}  // namespace lss
