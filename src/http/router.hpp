#pragma once
// Maps request paths to handlers by prefix (longest first); each handler
// checks the method itself so it can answer 405 with the right Allow list.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_types.hpp"
#include "http/request_counts.hpp"

namespace lss::http {

class Router {
 public:
  // `prefix` ending in '/' matches everything below it; otherwise exact match.
  void add(std::string prefix, Handler handler);
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }
  void set_upgrade_handler(UpgradeHandler handler) { upgrade_ = std::move(handler); }
  // Asked before each routed request with its route's prefix: an answer it
  // gives is sent instead of the handler's (a draining server's 503s).
  using Gate = std::function<std::optional<Response>(const Request&, std::string_view route)>;
  void set_gate(Gate gate) { gate_ = std::move(gate); }
  const UpgradeHandler& upgrade_handler() const { return upgrade_; }
  // Counts each answer by its route's prefix (kFallbackRoute for the
  // fallback's and unrouted ones) and status.
  void dispatch(const Request& req, const RequestContext& ctx, Responder respond) const;
  const RequestCounts& request_counts() const { return *counts_; }
  static constexpr std::string_view kFallbackRoute = "/";

 private:
  struct Route {
    std::string prefix;
    Handler handler;
  };
  std::vector<Route> routes_;
  Handler fallback_;
  UpgradeHandler upgrade_;
  Gate gate_;
  // Shared with the responders, which may outlive a dispatch (and the router).
  std::shared_ptr<RequestCounts> counts_ = std::make_shared<RequestCounts>();
};

// The path of a request target without its query string.
std::string_view target_path(std::string_view target);
// Value of `name` in the query string of `target`, percent-decoded; empty if absent.
std::string query_param(std::string_view target, std::string_view name);

}  // namespace lss::http
