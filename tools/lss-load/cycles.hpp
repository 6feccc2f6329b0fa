#pragma once
// --cycles N: join/leave churn. Each of the M publishers' or N viewers'
// places is taken by N sessions in turn: a session joins, stays --hold-ms
// after its media started, leaves (WHIP/WHEP DELETE), and the place's next
// session joins once that DELETE is answered, so a place never has two
// sessions on the server at once and a publisher's next turn can reuse its
// stream name.
#include <cstddef>
#include <vector>

#include "common/time.hpp"
#include "load_peer.hpp"

namespace lss::load {

// Whether `p` is done with its turn: it failed, the server closed it, it
// has had `hold` of media (a viewer since its first RTP packet, a
// publisher since it connected and started sending), or it connected but
// saw no media within `media_timeout`.
bool turn_over(const LoadPeer& p, Timestamp now, Duration hold, Duration media_timeout);

// Which peer (an index in the role's peer list) holds each place, and how
// many turns each place has had.
class CyclePlaces {
 public:
  explicit CyclePlaces(int cycles) : cycles_(cycles) {}

  // `peer` takes `place` (a new place, or the place's next turn).
  void assign(size_t place, size_t peer);
  size_t places() const { return places_.size(); }
  size_t peer(size_t place) const { return places_[place].peer; }
  // The place's peer was sent on its way (DELETE in flight).
  void set_leaving(size_t place) { places_[place].leaving = true; }
  bool leaving(size_t place) const { return places_[place].leaving; }
  bool done(size_t place) const { return places_[place].done; }
  // The place `peer` holds or held.
  size_t place_of(size_t peer) const { return place_of_[peer]; }
  // The place's peer is gone: true when the place takes another turn (the
  // caller assigns it a new peer), false when it has had all of its turns.
  bool left(size_t place);
  // Every place has had all of its turns and its last peer is gone.
  bool finished() const;

 private:
  struct Place {
    size_t peer = 0;
    int turns = 0;
    bool leaving = false;
    bool done = false;
  };
  int cycles_;
  std::vector<Place> places_;
  std::vector<size_t> place_of_;  // by peer index
};

}  // namespace lss::load
