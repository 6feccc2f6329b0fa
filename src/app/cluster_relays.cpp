#include "app/cluster_relays.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "cluster/whep_client.hpp"
#include "sdp/session_description.hpp"

namespace lss {

namespace asio = boost::asio;

ClusterRelays::ClusterRelays(asio::io_context& control, signal::EngineRouter& engines,
                             std::string secret)
    : control_(control), engines_(engines), secret_(std::move(secret)) {}

ClusterRelays::~ClusterRelays() {
  cancel_ = true;
  http_.join();
}

void ClusterRelays::pull(const std::string& stream, const std::string& owner_url, Done done) {
  auto [it, first] = pending_.try_emplace(stream);
  it->second.push_back(std::move(done));
  if (!first) return;  // one pull per stream: the waiters share it
  spdlog::info("cluster: pulling stream '{}' from {}", stream, owner_url);
  engines_.run_for_new_stream(stream, [this, stream, owner_url](sfu::Engine& engine) {
    auto r = engine.prepare_pull(stream, Clock::now(), false, sfu::PullFrom::kNode);
    asio::post(control_, [this, stream, owner_url, r = std::move(r)] {
      if (auto* f = std::get_if<sfu::Failure>(&r)) {
        // Live here already (a pull that just completed): nothing to do.
        return finish(stream, f->status == 409 ? "" : f->reason);
      }
      const auto& offered = std::get<sfu::PullOffered>(r);
      post_offer(stream, owner_url, offered.session_id, offered.offer_sdp);
    });
  });
}

void ClusterRelays::post_offer(const std::string& stream, const std::string& owner_url,
                               const std::string& session_id, const std::string& offer) {
  asio::post(http_, [this, stream, owner_url, session_id, offer] {
    auto x = cluster::post_whep_offer(owner_url + "/whep/" + stream, offer, secret_, kPostTimeout,
                                      cancel_);
    asio::post(control_, [this, stream, owner_url, session_id, x = std::move(x)] {
      if (x.status == 201) return complete(stream, owner_url, session_id, x.answer, x.location);
      engines_.run_for_stream(stream, [session_id](sfu::Engine& e) { e.cancel_pull(session_id); });
      finish(stream, x.status ? "the node answered " + std::to_string(x.status) + ": " +
                                    x.answer.substr(0, 200)
                              : x.error);
    });
  });
}

void ClusterRelays::complete(const std::string& stream, const std::string& owner_url,
                             const std::string& session_id, const std::string& answer,
                             const std::string& location) {
  auto parsed = sdp::parse_sdp(answer);
  if (!parsed.ok()) {
    engines_.run_for_stream(stream, [session_id](sfu::Engine& e) { e.cancel_pull(session_id); });
    forget_at_owner(owner_url, location);
    return finish(stream, "the node's answer is not SDP: " + parsed.error().message);
  }
  auto sdp = std::make_shared<sdp::SessionDescription>(std::move(parsed.value()));
  engines_.run_for_stream(stream,
                          [this, stream, owner_url, session_id, sdp, location](sfu::Engine& e) {
                            auto r = e.complete_pull(session_id, *sdp, Clock::now(), owner_url);
                            std::string error;
                            if (auto* f = std::get_if<sfu::Failure>(&r)) error = f->reason;
                            asio::post(control_, [this, stream, error, owner_url, location] {
                              if (!error.empty()) forget_at_owner(owner_url, location);
                              finish(stream, error);
                            });
                          });
}

void ClusterRelays::forget_at_owner(const std::string& owner_url, const std::string& location) {
  // Its Location is a path on the owner (ours are), or a whole URL.
  if (location.empty()) return;
  const std::string url = location.front() == '/' ? owner_url + location : location;
  asio::post(http_, [this, url] {
    const long status = cluster::delete_whep_session(url, secret_, kPostTimeout, cancel_);
    if (status < 200 || status >= 300) {
      spdlog::info("cluster: DELETE {} answered {}: the owner lets it lapse", url, status);
    }
  });
}

void ClusterRelays::finish(const std::string& stream, const std::string& error) {
  auto it = pending_.find(stream);
  if (it == pending_.end()) return;
  auto waiters = std::move(it->second);
  pending_.erase(it);
  if (error.empty()) {
    spdlog::info("cluster: stream '{}' is relayed here for {} viewer(s)", stream, waiters.size());
  } else {
    spdlog::warn("cluster: cannot pull stream '{}': {}", stream, error);
  }
  for (auto& done : waiters) done(error);
}

}  // namespace lss
