#pragma once
// REDIS_URL: where the cluster's coordination lives.
//   redis://[[user]:password@]host[:port][/db]   (port 6379, db 0 by default)
//   unix:///path/to/redis.sock[?db=N]
// A password may be percent-encoded (e.g. %40 for '@').
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lss::cluster {

struct RedisUrl {
  std::string host;  // empty for a Unix socket
  int port = 6379;
  std::string socket_path;  // unix://
  std::string user, password;
  int db = 0;

  // Without the password: for log lines.
  std::string redacted() const;
};

Result<RedisUrl> parse_redis_url(std::string_view url);

}  // namespace lss::cluster
