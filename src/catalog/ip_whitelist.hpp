#pragma once
// The seed's start-up step before MongoDB (skipped when ENVIRONMENT=dev): ask
// a whitelist endpoint to allow this host's address, proving ourselves with
// WHITELIST_KEY. The endpoint is configurable (WHITELIST_URL); the request is
// POST {"key": "<WHITELIST_KEY>"} with the key also as a Bearer token.
#include <string>

#include "common/result.hpp"

namespace lss::catalog {

Status request_ip_whitelist(const std::string& url, const std::string& key,
                            long timeout_seconds = 15);

}  // namespace lss::catalog
