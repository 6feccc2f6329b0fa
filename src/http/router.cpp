#include "http/router.hpp"

#include <algorithm>

namespace lss::http {

Response make_response(const Request& req, Status status, std::string body,
                       std::string content_type) {
  Response res{status, req.version()};
  res.keep_alive(req.keep_alive());
  if (!body.empty() || status != Status::no_content) {
    res.set(bhttp::field::content_type, content_type);
  }
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

void Router::add(std::string prefix, Handler handler) {
  routes_.push_back({std::move(prefix), std::move(handler)});
  std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
    return a.prefix.size() > b.prefix.size();
  });
}

void Router::dispatch(const Request& req, const RequestContext& ctx, Responder respond) const {
  const std::string_view path = target_path(req.target());
  const Route* route = nullptr;
  for (const Route& r : routes_) {
    const bool match = r.prefix.back() == '/' ? path.substr(0, r.prefix.size()) == r.prefix ||
                                                    path == r.prefix.substr(0, r.prefix.size() - 1)
                                              : path == r.prefix;
    if (match) {
      route = &r;
      break;
    }
  }
  // The answer, by whichever way it goes, is counted under the route.
  std::string label(route ? std::string_view(route->prefix) : kFallbackRoute);
  RequestContext counted_ctx = ctx;
  if (ctx.send_file) {
    counted_ctx.send_file = [counts = counts_, label, send = ctx.send_file](FileResponse res) {
      counts->add(label, res.result_int());
      send(std::move(res));
    };
  }
  Responder counted = [counts = counts_, label = std::move(label),
                       respond = std::move(respond)](Response res) {
    counts->add(label, res.result_int());
    respond(std::move(res));
  };
  if (gate_) {
    if (auto answer = gate_(req, route ? std::string_view(route->prefix) : kFallbackRoute))
      return counted(std::move(*answer));
  }
  if (route) return route->handler(req, counted_ctx, std::move(counted));
  if (fallback_) return fallback_(req, counted_ctx, std::move(counted));
  counted(make_response(req, Status::not_found, "not found\n"));
}

std::string_view target_path(std::string_view target) {
  const size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(char(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}
}  // namespace

std::string query_param(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace lss::http
