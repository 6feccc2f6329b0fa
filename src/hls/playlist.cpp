#include "hls/playlist.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "hls/hls_request.hpp"

namespace lss::hls {

namespace {

// Durations are whole milliseconds (media time is), so three decimals are
// exact and the text is stable for tests and caches.
std::string seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return buf;
}

void append_part(std::string& out, const std::string& session, const PlaylistPart& p) {
  out += "#EXT-X-PART:DURATION=" + seconds(p.duration_ms) + ",URI=\"" + part_name(session, p.seq) +
         "\"";
  if (p.independent) out += ",INDEPENDENT=YES";
  out += '\n';
}

}  // namespace

std::string iso8601_ms(WallClock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t secs = std::time_t(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // room for any int the format may see
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                int(ms.count() % 1000));
  return buf;
}

LivePlaylist::LivePlaylist(std::string session, int64_t segment_target_ms, int64_t part_target_ms)
    : session_(std::move(session)),
      segment_target_ms_(segment_target_ms),
      part_target_ms_(part_target_ms) {}

void LivePlaylist::add_part(uint64_t msn, int64_t duration_ms, bool independent,
                            WallClock::time_point segment_start) {
  if (ended_) return;
  if (!current_.parts.empty() && msn != current_.msn) complete_current();
  if (current_.parts.empty()) {
    current_.msn = msn;
    current_.start = segment_start;
    current_.duration_ms = 0;
  }
  current_.parts.push_back({next_part_seq_++, duration_ms, independent});
  current_.duration_ms += duration_ms;
  part_target_ms_ = std::max(part_target_ms_, duration_ms);
}

void LivePlaylist::complete_current() {
  if (current_.parts.empty()) return;
  longest_segment_ms_ = std::max(longest_segment_ms_, current_.duration_ms);
  const uint64_t next_msn = current_.msn + 1;
  segments_.push_back(std::move(current_));
  current_ = PlaylistSegment{};
  current_.msn = next_msn;
}

void LivePlaylist::end() {
  complete_current();
  ended_ = true;
}

void LivePlaylist::pop_front() {
  if (!segments_.empty()) segments_.pop_front();
}

uint64_t LivePlaylist::media_sequence() const {
  return segments_.empty() ? current_.msn : segments_.front().msn;
}

int64_t LivePlaylist::target_duration_s() const {
  // EXTINF rounded to the nearest integer must not exceed it.
  const int64_t longest = std::max(segment_target_ms_, longest_segment_ms_);
  return std::max<int64_t>(1, (longest + 500) / 1000);
}

int64_t LivePlaylist::duration_ms() const {
  int64_t total = current_.duration_ms;
  for (const auto& s : segments_) total += s.duration_ms;
  return total;
}

PartPosition LivePlaylist::last() const {
  if (!current_.parts.empty()) return {current_.msn, current_.parts.size() - 1};
  if (!segments_.empty()) return {segments_.back().msn, segments_.back().parts.size() - 1};
  return {};
}

bool LivePlaylist::reached(uint64_t msn, uint64_t part) const {
  if (ended_) return true;
  if (empty()) return false;
  const PartPosition at = last();
  return at.msn > msn || (at.msn == msn && at.part >= part);
}

int64_t LivePlaylist::last_complete_msn() const {
  if (!segments_.empty()) return int64_t(segments_.back().msn);
  // Segments popped from the window were complete too.
  return int64_t(current_.msn) - 1;
}

uint64_t LivePlaylist::first_msn_with_parts() const {
  const int64_t from_ms = duration_ms() - 3 * target_duration_s() * 1000;
  int64_t end_of_segment = 0;
  for (const auto& s : segments_) {
    end_of_segment += s.duration_ms;
    if (end_of_segment > from_ms) return s.msn;
  }
  return current_.msn;
}

std::string LivePlaylist::render(bool delta) const {
  const int64_t target_s = target_duration_s();
  const int64_t skip_until_ms = 6 * target_s * 1000;
  // Completed segments that end at least the skip boundary before the end
  // of the playlist may be left out of a delta update.
  const int64_t total_ms = duration_ms();
  size_t skipped = 0;
  if (delta) {
    int64_t end_of_segment = 0;
    for (const auto& s : segments_) {
      end_of_segment += s.duration_ms;
      if (total_ms - end_of_segment < skip_until_ms) break;
      skipped++;
    }
  }
  std::string out;
  out.reserve(256 + 64 * segments_.size() + 96 * (current_.parts.size() + 16));
  out += "#EXTM3U\n";
  // EXT-X-SKIP needs version 9 (§7); every other tag here needs less.
  out += "#EXT-X-VERSION:9\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(target_s) + "\n";
  out +=
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=" + seconds(3 * part_target_ms_) +
      ",CAN-SKIP-UNTIL=" + seconds(skip_until_ms) + "\n";
  out += "#EXT-X-PART-INF:PART-TARGET=" + seconds(part_target_ms_) + "\n";
  out += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(media_sequence()) + "\n";
  // Segments start with a keyframe unless one was missing in time (see
  // Fmp4Muxer); the tag is there only while every listed one does.
  bool all_independent = current_.parts.empty() || current_.parts.front().independent;
  for (size_t i = skipped; i < segments_.size(); ++i) {
    all_independent = all_independent && segments_[i].parts.front().independent;
  }
  if (all_independent) out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  if (skipped > 0) out += "#EXT-X-SKIP:SKIPPED-SEGMENTS=" + std::to_string(skipped) + "\n";
  out += "#EXT-X-MAP:URI=\"" + init_name(session_) + "\"\n";
  const uint64_t parts_from = first_msn_with_parts();
  for (size_t i = skipped; i < segments_.size(); ++i) {
    const PlaylistSegment& s = segments_[i];
    out += "#EXT-X-PROGRAM-DATE-TIME:" + iso8601_ms(s.start) + "\n";
    if (s.msn >= parts_from) {
      for (const auto& p : s.parts) append_part(out, session_, p);
    }
    out += "#EXTINF:" + seconds(s.duration_ms) + ",\n";
    out += segment_name(session_, s.msn) + "\n";
  }
  if (!current_.parts.empty()) {
    out += "#EXT-X-PROGRAM-DATE-TIME:" + iso8601_ms(current_.start) + "\n";
    for (const auto& p : current_.parts) append_part(out, session_, p);
  }
  if (ended_) {
    out += "#EXT-X-ENDLIST\n";
  } else {
    out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"" + part_name(session_, next_part_seq_) + "\"\n";
  }
  return out;
}

}  // namespace lss::hls
