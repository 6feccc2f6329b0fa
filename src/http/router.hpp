#pragma once
// Maps request paths to handlers by prefix (longest first); each handler
// checks the method itself so it can answer 405 with the right Allow list.
#include <string>
#include <vector>

#include "http/http_types.hpp"

namespace lss::http {

class Router {
 public:
  // `prefix` ending in '/' matches everything below it; otherwise exact match.
  void add(std::string prefix, Handler handler);
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }
  void set_upgrade_handler(UpgradeHandler handler) { upgrade_ = std::move(handler); }
  const UpgradeHandler& upgrade_handler() const { return upgrade_; }
  void dispatch(const Request& req, const RequestContext& ctx, Responder respond) const;

 private:
  struct Route {
    std::string prefix;
    Handler handler;
  };
  std::vector<Route> routes_;
  Handler fallback_;
  UpgradeHandler upgrade_;
};

// The path of a request target without its query string.
std::string_view target_path(std::string_view target);
// Value of `name` in the query string of `target`, percent-decoded; empty if absent.
std::string query_param(std::string_view target, std::string_view name);

}  // namespace lss::http
