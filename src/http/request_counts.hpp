#pragma once
// Requests answered, by route and status, for GET /metrics. The route is the
// router's registered prefix (e.g. "/whip/"), never the full path, so the
// label set stays bounded however many streams and sessions there are.
// Responses may be sent from media worker threads, hence the lock (HTTP
// requests are rare next to packets).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lss::http {

class RequestCounts {
 public:
  void add(std::string_view route, unsigned status) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(std::pair(route, status));
    if (it == counts_.end()) it = counts_.emplace(std::pair(std::string(route), status), 0).first;
    ++it->second;
  }

  struct Row {
    std::string route;
    unsigned status = 0;
    uint64_t count = 0;
  };
  // Every (route, status) seen so far, sorted.
  std::vector<Row> snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<Row> out;
    out.reserve(counts_.size());
    for (const auto& [key, n] : counts_) out.push_back({key.first, key.second, n});
    return out;
  }

 private:
  // Lookups by string_view compare as the pair<string, unsigned> keys do.
  struct Less {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::pair<std::string_view, unsigned>(a.first, a.second) <
             std::pair<std::string_view, unsigned>(b.first, b.second);
    }
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, unsigned>, uint64_t, Less> counts_;
};

}  // namespace lss::http
