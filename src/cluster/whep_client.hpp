#pragma once
// The I/O edge of a cluster relay: one WHEP offer POSTed to the node that
// owns a stream (libcurl, blocking: run it off the control thread).
#include <atomic>
#include <string>

#include "common/time.hpp"

namespace lss::cluster {

struct WhepExchange {
  long status = 0;       // HTTP status; 0 when there was no answer
  std::string answer;    // the body (the SDP answer on 201)
  std::string location;  // the session's URL (Location), as sent
  std::string error;     // why there was no answer
};

// POSTs `offer` (application/sdp) to `url`; `bearer` (CLUSTER_SECRET), when
// set, goes as "Authorization: Bearer". Redirects are not followed. The
// answer is bounded (64 KiB); `cancel` aborts at shutdown.
WhepExchange post_whep_offer(const std::string& url, const std::string& offer,
                             const std::string& bearer, Duration timeout,
                             const std::atomic<bool>& cancel);

// DELETEs a WHEP session (`url`: the owner's base URL and its Location);
// the HTTP status, 0 when there was no answer.
long delete_whep_session(const std::string& url, const std::string& bearer, Duration timeout,
                         const std::atomic<bool>& cancel);

}  // namespace lss::cluster
