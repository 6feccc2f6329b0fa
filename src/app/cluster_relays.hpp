#pragma once
// CLUSTER_VIEWERS=relay: this node pulls a stream it does not own from the
// owner's WHEP, once per stream, and serves its own viewers from the pull,
// as a media worker serves another worker's stream. The pull's worker makes
// the offer and runs the link (see sfu::PullFrom::kNode); the POST runs on
// a thread of its own, never on the control thread. The pulled stream ends
// with its origin (DTLS close, or its consent lost within seconds when the
// origin node dies) or, a while after its last viewer here left, by itself.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <string>
#include <vector>

#include "signal/engine_router.hpp"
#include "signal/stream_relays.hpp"

namespace lss {

class ClusterRelays : public signal::StreamRelays {
 public:
  // `secret`: CLUSTER_SECRET, sent as the pull's Bearer token (may be empty).
  ClusterRelays(boost::asio::io_context& control, signal::EngineRouter& engines,
                std::string secret);
  ~ClusterRelays() override;

  void pull(const std::string& stream, const std::string& owner_url, Done done) override;

  static constexpr Duration kPostTimeout = std::chrono::seconds(5);

 private:
  void post_offer(const std::string& stream, const std::string& owner_url,
                  const std::string& session_id, const std::string& offer);
  void complete(const std::string& stream, const std::string& owner_url,
                const std::string& session_id, const std::string& answer,
                const std::string& location);
  // Ends the owner's session of a pull that failed here after its 201.
  void forget_at_owner(const std::string& owner_url, const std::string& location);
  // Control thread: every waiter of `stream` learns the outcome.
  void finish(const std::string& stream, const std::string& error);

  boost::asio::io_context& control_;
  signal::EngineRouter& engines_;
  std::string secret_;
  std::map<std::string, std::vector<Done>> pending_;  // control thread
  std::atomic<bool> cancel_{false};
  boost::asio::thread_pool http_{1};  // the owners' WHEP POSTs
};

}  // namespace lss
