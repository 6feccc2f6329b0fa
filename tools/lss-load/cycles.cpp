#include "cycles.hpp"

namespace lss::load {

bool turn_over(const LoadPeer& p, Timestamp now, Duration hold, Duration media_timeout) {
  using State = LoadPeer::State;
  if (p.state() == State::kFailed || p.state() == State::kClosed) return true;
  if (p.state() != State::kConnected || !p.connected_at) return false;
  if (p.role() == LoadPeer::Role::kPublisher) return now - *p.connected_at >= hold;
  if (p.first_rtp_at) return now - *p.first_rtp_at >= hold;
  return now - *p.connected_at >= media_timeout;
}

void CyclePlaces::assign(size_t place, size_t peer) {
  if (place >= places_.size()) places_.resize(place + 1);
  Place& pl = places_[place];
  pl.peer = peer;
  ++pl.turns;
  pl.leaving = false;
  if (peer >= place_of_.size()) place_of_.resize(peer + 1);
  place_of_[peer] = place;
}

bool CyclePlaces::left(size_t place) {
  Place& pl = places_[place];
  pl.leaving = false;
  if (pl.turns < cycles_) return true;
  pl.done = true;
  return false;
}

bool CyclePlaces::finished() const {
  for (const auto& pl : places_)
    if (!pl.done) return false;
  return true;
}

}  // namespace lss::load
