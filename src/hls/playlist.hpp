#pragma once
// The live window of one stream as an LL-HLS media playlist (RFC 8216bis,
// draft-pantos-hls-rfc8216bis): a pure model (no I/O, no clock, no lock)
// that the store (hls_stream) feeds with parts as the muxer emits them and
// renders for each playlist request.
//
// Rules it keeps (§4.4.3.7, §4.4.3.8, §4.4.5.1, §6.2.2, §6.2.5):
//  - TARGETDURATION is an integer no EXTINF exceeds once rounded; segments
//    are cut at keyframes, so it follows the longest segment seen (it only
//    grows: a GOP longer than the segment target makes it grow once).
//  - PART-TARGET is at least every part's duration (likewise only grows).
//  - PART-HOLD-BACK is 3 part targets (MUST be >= 2, SHOULD be >= 3).
//  - CAN-SKIP-UNTIL is 6 target durations (the minimum); a delta update
//    skips only segments that end at least that long before the playlist's
//    end, so everything newer than the skip boundary is listed.
//  - EXT-X-PART tags are listed for the segment in progress and for the
//    completed segments ending less than 3 target durations from the end;
//    older ones are dropped (the spec's SHOULD) to keep playlists short.
//  - The preload hint names the next part, always present while live
//    (hls.js relies on it); ENDLIST replaces it when the stream ended.
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace lss::hls {

using WallClock = std::chrono::system_clock;

struct PlaylistPart {
  uint64_t seq = 0;  // the session-wide part number (its URI)
  int64_t duration_ms = 0;
  bool independent = false;
};

struct PlaylistSegment {
  uint64_t msn = 0;
  int64_t duration_ms = 0;      // the sum of its parts
  WallClock::time_point start;  // wall clock of its first frame (PROGRAM-DATE-TIME)
  std::vector<PlaylistPart> parts;
};

// A position in the stream: segment `msn`, its part `part`.
struct PartPosition {
  uint64_t msn = 0;
  uint64_t part = 0;
};

class LivePlaylist {
 public:
  LivePlaylist(std::string session, int64_t segment_target_ms, int64_t part_target_ms);

  // A part of segment `msn` was published. A new `msn` (greater than the
  // one in progress) completes the segment in progress first.
  // `segment_start` is only read for the first part of a segment.
  void add_part(uint64_t msn, int64_t duration_ms, bool independent,
                WallClock::time_point segment_start);
  // The stream ended: the segment in progress is complete, ENDLIST follows.
  void end();
  // Drops the oldest completed segment from the window (its bytes may stay
  // available a little longer; that is the store's business).
  void pop_front();

  const std::string& session() const { return session_; }
  bool ended() const { return ended_; }
  bool empty() const { return segments_.empty() && current_.parts.empty(); }
  const std::deque<PlaylistSegment>& segments() const { return segments_; }
  const PlaylistSegment& current() const { return current_; }
  uint64_t media_sequence() const;
  // The seq the next part will get (the preload hint).
  uint64_t next_part_seq() const { return next_part_seq_; }
  // Seconds, integer (EXT-X-TARGETDURATION).
  int64_t target_duration_s() const;
  int64_t part_target_ms() const { return part_target_ms_; }
  int64_t duration_ms() const;  // of the listed window, parts in progress included

  // The last published part (valid when !empty()).
  PartPosition last() const;
  // Whether a blocking request for (msn, part) can be answered: that part
  // or a later one is published, or the stream ended. A part index beyond
  // the last part of a completed segment means part 0 of the next one
  // (§6.2.5.2), which "a later part is published" already covers.
  bool reached(uint64_t msn, uint64_t part) const;
  // The oldest segment whose EXT-X-PART tags are listed (3 target
  // durations from the end); the segment in progress if none is.
  uint64_t first_msn_with_parts() const;
  // The msn of the last completed segment, or -1 if none.
  int64_t last_complete_msn() const;

  // The media playlist. `delta`: a Playlist Delta Update (_HLS_skip) when
  // there are segments older than the skip boundary, else the full playlist.
  std::string render(bool delta) const;

 private:
  void complete_current();

  std::string session_;
  int64_t segment_target_ms_;
  int64_t part_target_ms_;
  int64_t longest_segment_ms_ = 0;
  std::deque<PlaylistSegment> segments_;
  PlaylistSegment current_;
  uint64_t next_part_seq_ = 0;
  bool ended_ = false;
};

// "2026-12-03T10:54:42.123Z" (PROGRAM-DATE-TIME wants milliseconds).
std::string iso8601_ms(WallClock::time_point t);

}  // namespace lss::hls
