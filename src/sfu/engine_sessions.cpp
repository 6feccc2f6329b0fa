// Engine's view of its sessions for the admin API: what each publisher and
// viewer is, and finding one by id alone.
#include "sfu/engine.hpp"

namespace lss::sfu {

std::vector<SessionSummary> Engine::sessions(Timestamp now) const {
  std::vector<SessionSummary> out;
  for (const auto& [name, s] : streams_) {
    if (s->ended()) continue;
    if (!s->is_relay()) out.push_back(s->publisher_summary(now));
    for (const auto& sub : s->subscribers()) {
      if (!sub->closed()) out.push_back(sub->summary(now));
    }
  }
  return out;
}

std::optional<Engine::SessionRef> Engine::find_session(const std::string& session_id) const {
  for (const auto& [name, s] : streams_) {
    if (s->ended()) continue;
    if (!s->is_relay() && s->session_id() == session_id) return SessionRef{name, true};
    for (const auto& sub : s->subscribers()) {
      if (sub->session_id() == session_id && !sub->closed()) return SessionRef{name, false};
    }
  }
  return std::nullopt;
}

}  // namespace lss::sfu
