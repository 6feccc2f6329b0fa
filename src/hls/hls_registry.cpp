#include "hls/hls_registry.hpp"

namespace lss::hls {

void HlsRegistry::add(const std::string& name, std::shared_ptr<HlsStream> stream) {
  std::shared_ptr<HlsStream> old;  // destroyed outside the lock (it calls its waiters)
  std::lock_guard lock(mu_);
  auto& slot = streams_[name];
  old = std::move(slot);
  slot = std::move(stream);
}

std::shared_ptr<HlsStream> HlsRegistry::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = streams_.find(name);
  return it == streams_.end() ? nullptr : it->second;
}

void HlsRegistry::remove(std::string_view name, const HlsStream* only) {
  std::shared_ptr<HlsStream> old;
  std::lock_guard lock(mu_);
  auto it = streams_.find(name);
  if (it == streams_.end() || (only && it->second.get() != only)) return;
  old = std::move(it->second);
  streams_.erase(it);
}

size_t HlsRegistry::sweep(Timestamp now) {
  std::vector<std::shared_ptr<HlsStream>> all;
  {
    std::lock_guard lock(mu_);
    all.reserve(streams_.size());
    for (const auto& [name, s] : streams_) all.push_back(s);
  }
  size_t n = 0;
  for (const auto& s : all) n += s->sweep(now);
  return n;
}

HlsRegistry::Totals HlsRegistry::totals() const {
  std::vector<std::shared_ptr<HlsStream>> streams;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, s] : streams_) streams.push_back(s);
  }
  // Each stream's own lock, not the registry's, while it is read.
  Totals t;
  t.streams = streams.size();
  for (const auto& s : streams) {
    t.waiters += s->waiters();
    t.bytes += s->bytes();
  }
  return t;
}

size_t HlsRegistry::size() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

std::vector<std::string> HlsRegistry::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, s] : streams_) out.push_back(name);
  return out;
}

}  // namespace lss::hls
