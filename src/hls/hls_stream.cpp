#include "hls/hls_stream.hpp"

#include <algorithm>

#include "common/ascii_case.hpp"
#include "common/random.hpp"
#include "record/stream_recorder.hpp"

namespace lss::hls {

namespace {

bool h264_without_parameter_sets(const record::TrackSpec& t) {
  return t.video && to_upper_ascii(t.codec) == "H264" && t.extradata.empty();
}

// _HLS_part may run ahead of the last part by at most this many parts
// (the Advance Part Limit of §6.2.5.2: 3 / part target, or 3 when parts
// are a second or longer).
uint64_t advance_part_limit(int64_t part_target_ms) {
  if (part_target_ms >= 1000) return 3;
  return uint64_t((3000 + part_target_ms - 1) / std::max<int64_t>(1, part_target_ms));
}

}  // namespace

HlsStream::HlsStream(HlsOptions options) : options_(std::move(options)) {}

HlsStream::~HlsStream() {
  Ready ready;
  {
    std::lock_guard lock(mu_);
    for (auto& w : waiters_) ready.emplace_back(std::move(w.on_ready), error(404));
    waiters_.clear();
  }
  deliver(ready);
}

HlsResponse HlsStream::error(int status) const {
  HlsResponse r;
  r.status = status;
  r.cache_control = std::string(kNoStore);
  return r;
}

void HlsStream::deliver(Ready& ready) {
  for (auto& [cb, response] : ready) {
    if (cb) cb(std::move(response));
  }
  ready.clear();
}

lss::Status HlsStream::start(const std::vector<record::TrackSpec>& tracks) {
  end();  // a session still live ends first: its readers get ENDLIST
  if (tracks.empty()) return make_error("no tracks");
  for (const auto& t : tracks) {
    const std::string c = to_upper_ascii(t.codec);
    const bool ok = t.video ? c == "H264" : (c == "OPUS" || c == "AAC" || c == "MPEG4-GENERIC");
    if (!ok) return make_error("HLS cannot carry " + t.codec);
  }
  tracks_ = tracks;
  have_origin_ = false;
  std::string session = options_.session;
  if (session.empty()) session = random_string(8, "0123456789abcdefghijklmnopqrstuvwxyz");
  {
    std::lock_guard lock(mu_);
    playlist_.emplace(session, options_.segment_target_ms, options_.part_target_ms);
    started_ = true;
    init_.reset();
    parts_.clear();
    segments_.clear();
    bytes_ = 0;
    media_end_ms_ = 0;
    full_text_.reset();
    delta_text_.reset();
  }
  // SPS and PPS missing: the muxer opens at the first keyframe.
  for (const auto& t : tracks_) {
    if (h264_without_parameter_sets(t)) return {};
  }
  return open_muxer();
}

lss::Status HlsStream::open_muxer() {
  auto m = Fmp4Muxer::open(tracks_, {options_.part_target_ms, options_.segment_target_ms});
  if (!m.ok()) {
    end();
    return make_error(m.error().message);
  }
  muxer_ = std::move(m.value());
  auto init = std::make_shared<const Bytes>(muxer_->init_segment());
  std::lock_guard lock(mu_);
  bytes_ += init->size();
  init_ = std::move(init);
  return {};
}

lss::Status HlsStream::on_frame(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe) {
  if (!muxer_) {
    if (track >= tracks_.size()) return make_error("not started");
    record::TrackSpec& t = tracks_[track];
    if (!h264_without_parameter_sets(t) || !keyframe) return {};
    t.extradata = record::h264_parameter_sets(frame);
    if (t.extradata.empty()) return {};
    bool waiting = false;
    for (const auto& other : tracks_) waiting |= h264_without_parameter_sets(other);
    if (waiting) return {};
    if (auto s = open_muxer(); !s) return s;
  }
  lss::Status s = muxer_->write(track, frame, pts_ms, keyframe, scratch_);
  if (!scratch_.empty()) publish(scratch_);
  if (!s) end();
  return s;
}

void HlsStream::end() {
  if (muxer_) {
    (void)muxer_->finish(scratch_);  // what it could write is published
    if (!scratch_.empty()) publish(scratch_);
    muxer_.reset();
  }
  tracks_.clear();
  Ready ready;
  {
    std::lock_guard lock(mu_);
    if (playlist_ && !playlist_->ended()) end_locked(ready);
  }
  deliver(ready);
}

void HlsStream::end_locked(Ready& ready) {
  if (!playlist_->current().parts.empty()) complete_segment_locked(playlist_->current().msn);
  playlist_->end();
  full_text_.reset();
  delta_text_.reset();
  collect_ready_locked(ready);
}

void HlsStream::publish(std::vector<Fmp4Part>& parts) {
  const WallClock::time_point wall_now =
      options_.wall_clock ? options_.wall_clock() : WallClock::now();
  Ready ready;
  {
    std::lock_guard lock(mu_);
    for (auto& p : parts) {
      if (!have_origin_) {
        // A part is cut when the frame after it arrives: its end is now.
        have_origin_ = true;
        wall_origin_ = wall_now - std::chrono::milliseconds(p.start_ms + p.duration_ms);
      }
      const PlaylistSegment& current = playlist_->current();
      if (!current.parts.empty() && current.msn != p.msn) complete_segment_locked(current.msn);
      const uint64_t seq = playlist_->next_part_seq();
      playlist_->add_part(p.msn, p.duration_ms, p.independent,
                          wall_origin_ + std::chrono::milliseconds(p.start_ms));
      media_end_ms_ = p.start_ms + p.duration_ms;
      bytes_ += p.data.size();
      parts_.push_back(
          {seq, p.msn, media_end_ms_, std::make_shared<const Bytes>(std::move(p.data))});
    }
    parts.clear();
    full_text_.reset();
    delta_text_.reset();
    trim_locked();
    collect_ready_locked(ready);
  }
  deliver(ready);
}

void HlsStream::complete_segment_locked(uint64_t msn) {
  // A segment is its parts one after the other (a CMAF segment of chunks).
  auto data = std::make_shared<Bytes>();
  size_t count = 0;
  for (const auto& p : parts_) {
    if (p.msn != msn) continue;
    data->insert(data->end(), p.data->begin(), p.data->end());
    count++;
  }
  // Parts evicted by the byte cap: the segment cannot be served whole.
  const auto& current = playlist_->current();
  if (count != current.parts.size() || current.msn != msn) return;
  bytes_ += data->size();
  segments_.push_back({msn, media_end_ms_, INT64_MAX, std::move(data)});
}

void HlsStream::trim_locked() {
  const int64_t target_ms = playlist_->target_duration_s() * 1000;
  // Longer than the skip boundary (6 target durations) by two segments, so
  // a delta update has something to skip.
  const int64_t window_ms = std::max(options_.window_ms, 8 * target_ms);
  auto listed_ms = [&] {
    int64_t total = 0;
    for (const auto& s : playlist_->segments()) total += s.duration_ms;
    return total;
  };
  while (playlist_->segments().size() > 1 &&
         listed_ms() - playlist_->segments().front().duration_ms >= window_ms) {
    const uint64_t msn = playlist_->segments().front().msn;
    const int64_t duration = playlist_->segments().front().duration_ms;
    playlist_->pop_front();
    // §6.2.2: available for its duration plus the playlist's after removal.
    for (auto& s : segments_) {
      if (s.msn == msn) s.keep_until_ms = media_end_ms_ + duration + window_ms;
    }
  }
  auto drop_segment = [&] {
    bytes_ -= segments_.front().data->size();
    segments_.pop_front();
  };
  auto drop_part = [&] {
    bytes_ -= parts_.front().data->size();
    parts_.pop_front();
  };
  while (!segments_.empty() && segments_.front().keep_until_ms <= media_end_ms_) drop_segment();
  // Parts are listed for 3 target durations; kept 2 more for late readers
  // (never those of the segment in progress: it is assembled from them).
  const uint64_t building = playlist_->current().msn;
  while (!parts_.empty() && parts_.front().msn < building &&
         parts_.front().end_ms < media_end_ms_ - 5 * target_ms) {
    drop_part();
  }
  // The byte cap, least useful first: segments and parts the playlist no
  // longer lists, then the oldest listed segments (leaving the playlist),
  // then listed parts of completed segments.
  const uint64_t parts_from = playlist_->first_msn_with_parts();
  while (bytes_ > options_.max_bytes) {
    if (!segments_.empty() && segments_.front().msn < playlist_->media_sequence()) {
      drop_segment();
    } else if (!parts_.empty() && parts_.front().msn < parts_from) {
      drop_part();
    } else if (!segments_.empty() && playlist_->segments().size() > 1) {
      drop_segment();
    } else if (!parts_.empty() && parts_.front().msn < building) {
      drop_part();
    } else {
      break;  // the live edge stays, whatever it weighs
    }
    // The playlist lists only segments that can be fetched.
    while (playlist_->segments().size() > 1 &&
           (segments_.empty() || segments_.front().msn > playlist_->segments().front().msn)) {
      playlist_->pop_front();
    }
  }
}

std::shared_ptr<const std::string> HlsStream::playlist_text_locked(bool delta) {
  auto& cached = delta ? delta_text_ : full_text_;
  if (!cached) cached = std::make_shared<const std::string>(playlist_->render(delta));
  return cached;
}

std::optional<HlsResponse> HlsStream::answer_locked(const HlsRequest& request) {
  if (!started_ || !playlist_) return error(404);
  const LivePlaylist& pl = *playlist_;
  const bool same_session = request.session == pl.session();
  auto media = [&](std::shared_ptr<const Bytes> data) -> HlsResponse {
    HlsResponse r;
    r.content_type = content_type(request.object);
    r.cache_control = cache_control(request, cache_timing_locked());
    r.media = std::move(data);
    return r;
  };
  switch (request.object) {
    case HlsObject::kInit:
      if (!same_session || !init_) return error(404);
      return media(init_);
    case HlsObject::kSegment: {
      if (!same_session) return error(404);
      for (const auto& s : segments_) {
        if (s.msn == request.msn) return media(s.data);
      }
      return error(404);
    }
    case HlsObject::kPart: {
      if (!same_session) return error(404);
      for (const auto& p : parts_) {
        if (p.seq == request.part) return media(p.data);
      }
      // The preload hint: answered when it is published.
      if (!pl.ended() && request.part == pl.next_part_seq()) return std::nullopt;
      return error(404);
    }
    case HlsObject::kPlaylist:
      break;
  }
  if (request.hls_msn) {
    const uint64_t msn = *request.hls_msn;
    // §6.2.5.2: more than two segments ahead, or parts beyond the Advance
    // Part Limit, is a request that cannot be meant: 400 at once.
    if (int64_t(msn) > pl.last_complete_msn() + 2) return error(400);
    if (request.hls_part && !pl.ended()) {
      const uint64_t limit = advance_part_limit(pl.part_target_ms());
      const PartPosition at = pl.last();
      const uint64_t current = pl.current().msn;
      const uint64_t part = *request.hls_part;
      if ((msn == current && !pl.current().parts.empty() && part > at.part + limit) ||
          (msn == current && pl.current().parts.empty() && part > limit) ||
          (msn > current && part > limit)) {
        return error(400);
      }
    }
    const bool reached = request.hls_part ? pl.reached(msn, *request.hls_part)
                                          : pl.ended() || pl.last_complete_msn() >= int64_t(msn);
    if (!reached) return std::nullopt;
  } else if (!pl.ended() && pl.duration_ms() < 3 * pl.part_target_ms()) {
    // A stream younger than its PART-HOLD-BACK (three part targets): a
    // player joining now can only start at its very beginning, too close
    // to the live edge to ride out the wait for each part (hls.js stalls
    // where the first segment ends, then re-requests it in a loop). Its
    // first playlist waits until the hold-back is there to start behind.
    return std::nullopt;
  }
  HlsResponse r;
  r.content_type = content_type(HlsObject::kPlaylist);
  r.cache_control = cache_control(request, cache_timing_locked());
  r.text = playlist_text_locked(request.skip);
  return r;
}

void HlsStream::collect_ready_locked(Ready& ready) {
  auto it = waiters_.begin();
  for (auto& w : waiters_) {
    if (auto r = answer_locked(w.request)) {
      ready.emplace_back(std::move(w.on_ready), std::move(*r));
    } else {
      *it++ = std::move(w);
    }
  }
  waiters_.erase(it, waiters_.end());
}

std::optional<HlsResponse> HlsStream::serve(const HlsRequest& request, Timestamp now,
                                            Callback on_ready) {
  std::lock_guard lock(mu_);
  if (auto r = answer_locked(request)) return r;
  if (waiters_.size() >= options_.max_waiters) return error(503);
  // §6.2.5.2: a blocking request not satisfied within three target
  // durations is answered 503.
  const auto wait = std::chrono::seconds(3 * playlist_->target_duration_s());
  waiters_.push_back({request, now + wait, std::move(on_ready)});
  return std::nullopt;
}

size_t HlsStream::sweep(Timestamp now) {
  Ready ready;
  {
    std::lock_guard lock(mu_);
    auto it = waiters_.begin();
    for (auto& w : waiters_) {
      if (w.deadline <= now) {
        ready.emplace_back(std::move(w.on_ready), error(503));
      } else {
        *it++ = std::move(w);
      }
    }
    waiters_.erase(it, waiters_.end());
  }
  const size_t n = ready.size();
  deliver(ready);
  return n;
}

bool HlsStream::live() const {
  std::lock_guard lock(mu_);
  return playlist_ && !playlist_->ended();
}

std::string HlsStream::session() const {
  std::lock_guard lock(mu_);
  return playlist_ ? playlist_->session() : std::string();
}

size_t HlsStream::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t HlsStream::waiters() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

CacheTiming HlsStream::cache_timing() const {
  std::lock_guard lock(mu_);
  return cache_timing_locked();
}

CacheTiming HlsStream::cache_timing_locked() const {
  return CacheTiming{playlist_ ? playlist_->part_target_ms() : options_.part_target_ms};
}

}  // namespace lss::hls
