#pragma once
// Stream name -> its HLS output, for the HTTP side to find streams by the
// name in /hls/{stream}/... The recording side adds a stream when it starts
// producing HLS and removes it some time after it ended (readers finishing
// with the ENDLIST playlist); readers hold the shared_ptr while they use it.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.hpp"
#include "hls/hls_stream.hpp"

namespace lss::hls {

class HlsRegistry {
 public:
  // Registers `stream` under `name`, replacing any stream there.
  void add(const std::string& name, std::shared_ptr<HlsStream> stream);
  // nullptr when there is none.
  std::shared_ptr<HlsStream> find(std::string_view name) const;
  // Removes `name`; with `only` set, only if that is still the stream
  // registered (a newer stream under the same name stays).
  void remove(std::string_view name, const HlsStream* only = nullptr);
  // HlsStream::sweep on every stream; returns how many waiters timed out.
  size_t sweep(Timestamp now);
  size_t size() const;
  std::vector<std::string> names() const;
  // For GET /metrics: what every registered stream holds now.
  struct Totals {
    size_t streams = 0;
    size_t waiters = 0;  // blocked playlist reloads and preload-hinted parts
    size_t bytes = 0;    // init segments, parts and segments kept in memory
  };
  Totals totals() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<HlsStream>, std::less<>> streams_;
};

}  // namespace lss::hls
