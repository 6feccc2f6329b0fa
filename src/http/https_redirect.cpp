#include "http/https_redirect.hpp"

#include <cctype>

namespace lss::http {

namespace {
bool host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}
bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
}  // namespace

std::string https_location(std::string_view host, uint16_t https_port, std::string_view target) {
  while (!host.empty() && (host.front() == ' ' || host.front() == '\t')) host.remove_prefix(1);
  while (!host.empty() && (host.back() == ' ' || host.back() == '\t')) host.remove_suffix(1);
  std::string_view name, port;
  if (!host.empty() && host.front() == '[') {  // IPv6 literal, e.g. [::1]:8080
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return {};
    name = host.substr(0, close + 1);
    for (char c : name.substr(1, name.size() - 2)) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return {};
    }
    if (name.size() < 3) return {};
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return {};
      port = rest.substr(1);
    }
  } else {
    const size_t colon = host.find(':');
    name = host.substr(0, colon);
    if (colon != std::string_view::npos) port = host.substr(colon + 1);
    if (name.empty()) return {};
    for (char c : name) {
      if (!host_name_char(c)) return {};
    }
  }
  if (!port.empty() && !all_digits(port)) return {};
  if (target.empty() || target.front() != '/') target = "/";  // "*" or an absolute form
  std::string out = "https://";
  out += name;
  if (https_port != 443) out += ":" + std::to_string(https_port);
  out += target;
  return out;
}

Handler https_redirect_handler(uint16_t https_port) {
  return [https_port](const Request& req, const RequestContext&, Responder respond) {
    const std::string location = https_location(req[bhttp::field::host], https_port, req.target());
    if (location.empty()) {
      return respond(
          make_response(req, Status::bad_request,
                        "this port only redirects to HTTPS, which needs a Host header\n"));
    }
    const bool safe = req.method() == Verb::get || req.method() == Verb::head;
    auto res = make_response(req, safe ? Status::moved_permanently : Status::permanent_redirect,
                             "moved to " + location + "\n");
    res.set(bhttp::field::location, location);
    if (req.method() == Verb::head) {
      res.body().clear();
      res.prepare_payload();
    }
    respond(std::move(res));
  };
}

}  // namespace lss::http
