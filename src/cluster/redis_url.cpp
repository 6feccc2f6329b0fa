#include "cluster/redis_url.hpp"

#include "common/parse_number.hpp"
#include "common/socket_address.hpp"

namespace lss::cluster {
namespace {

bool to_int(std::string_view s, int lo, int hi, int& out) {
  int v = 0;
  if (!parse_number(s, v) || v < lo || v > hi) return false;
  out = v;
  return true;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += char(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

std::string RedisUrl::redacted() const {
  std::string s = socket_path.empty() ? "redis://" : "unix://";
  if (!user.empty() || !password.empty()) s += user + (password.empty() ? "@" : ":***@");
  if (socket_path.empty()) {
    s += host_port(host, uint16_t(port));
    if (db) s += "/" + std::to_string(db);
  } else {
    s += socket_path;
    if (db) s += "?db=" + std::to_string(db);
  }
  return s;
}

Result<RedisUrl> parse_redis_url(std::string_view url) {
  auto bad = [&](const char* why) {
    return make_error("invalid REDIS_URL: " + std::string(why) +
                      " (expected redis://[:password@]host[:port][/db] or unix:///path)");
  };
  RedisUrl r;
  if (url.starts_with("unix://")) {
    std::string_view rest = url.substr(7);
    if (auto q = rest.find('?'); q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      rest = rest.substr(0, q);
      if (!query.starts_with("db=") || !to_int(query.substr(3), 0, 1 << 20, r.db))
        return bad("only ?db=N may follow the socket path");
    }
    if (rest.empty() || rest[0] != '/') return bad("the socket path must be absolute");
    r.socket_path = std::string(rest);
    return r;
  }
  if (!url.starts_with("redis://")) return bad("unknown scheme");
  std::string_view rest = url.substr(8);
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view user = auth, pass;
    if (auto colon = auth.find(':'); colon != std::string_view::npos) {
      user = auth.substr(0, colon);
      pass = auth.substr(colon + 1);
    }
    if (!percent_decode(user, r.user) || !percent_decode(pass, r.password))
      return bad("a broken %-escape in the credentials");
  }
  std::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !to_int(db, 0, 1 << 20, r.db)) return bad("the database is not a number");
  }
  std::string_view port;
  if (hostport.starts_with("[")) {  // [IPv6]:port
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad("an unclosed [");
    r.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after ]");
      port = after.substr(1);
    }
  } else if (auto colon = hostport.find(':'); colon != std::string_view::npos) {
    r.host = std::string(hostport.substr(0, colon));
    port = hostport.substr(colon + 1);
  } else {
    r.host = std::string(hostport);
  }
  if (r.host.empty()) return bad("no host");
  if (!port.empty() && !to_int(port, 1, 65535, r.port)) return bad("the port is not 1-65535");
  return r;
}

}  // namespace lss::cluster
