#include "http/connection_limiter.hpp"

#include <spdlog/spdlog.h>

#include "http/client_key.hpp"

namespace lss::http {

ConnectionLimiter::Slot& ConnectionLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
    key_ = std::move(other.key_);
  }
  return *this;
}

void ConnectionLimiter::Slot::release() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    auto it = state_->open.find(key_);
    // Addresses with nothing open are forgotten: the table holds only what
    // is connected now, so it is bounded by the connections themselves.
    if (it != state_->open.end() && --it->second == 0) state_->open.erase(it);
  }
  state_.reset();
}

ConnectionLimiter::ConnectionLimiter(size_t per_address, bool exempt_loopback)
    : state_(std::make_shared<State>()) {
  state_->per_address = per_address;
  state_->exempt_loopback = exempt_loopback;
}

std::optional<ConnectionLimiter::Slot> ConnectionLimiter::acquire(const SocketAddress& remote) {
  if (state_->per_address == 0 || (state_->exempt_loopback && remote.is_loopback())) return Slot();
  std::string key = client_key(remote);
  std::lock_guard lock(state_->mutex);
  size_t& n = state_->open[key];
  if (n >= state_->per_address) return std::nullopt;
  ++n;
  return Slot(state_, std::move(key));
}

std::optional<ConnectionLimiter::Slot> ConnectionLimiter::admit(const SocketAddress& remote,
                                                                Refusals& refusals) {
  auto slot = acquire(remote);
  if (slot) return slot;
  ++refusals.count;
  if (auto n = refusals.log.admit(Clock::now())) {
    spdlog::warn(
        "{}: refused {} from {}: {} {} open from {} ({}={}); {} refused over that limit "
        "since the last such line",
        refusals.who, refusals.one, remote.to_string(), open(remote), refusals.what,
        client_key(remote), refusals.setting, per_address(), *n);
  }
  return slot;
}

bool ConnectionLimiter::full(const SocketAddress& remote) const {
  if (state_->per_address == 0 || (state_->exempt_loopback && remote.is_loopback())) return false;
  return open(remote) >= state_->per_address;
}

size_t ConnectionLimiter::open(const SocketAddress& remote) const {
  std::lock_guard lock(state_->mutex);
  auto it = state_->open.find(client_key(remote));
  return it == state_->open.end() ? 0 : it->second;
}

size_t ConnectionLimiter::tracked() const {
  std::lock_guard lock(state_->mutex);
  return state_->open.size();
}

}  // namespace lss::http
