#include "http/client_key.hpp"

#include <algorithm>

namespace lss::http {

std::string client_key(const SocketAddress& a) {
  if (a.is_ipv4()) return a.ip_string();
  SocketAddress net = a;
  std::fill(net.ip.begin() + 8, net.ip.end(), 0);
  return net.ip_string() + "/64";
}

}  // namespace lss::http
