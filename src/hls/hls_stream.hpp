#pragma once
// One stream's LL-HLS output: the muxer's parts kept in a bounded window
// and served to HTTP readers, with blocking playlist reloads that do not
// hold a thread.
//
// Writer side (one thread, the recording thread): start(tracks), then
// on_frame(...) for every frame, then end(). start() again later begins a
// new session (new object names, msn from 0).
//
// Reader side (any thread): serve(request, now, on_ready) answers at once
// (returns the response) or, for a request that must wait (a blocking
// reload for a part not published yet, the preload-hinted part, the first
// playlist of a stream not yet producing), returns nothing and calls
// `on_ready` exactly once later with the response: from the writer's thread
// when the part is published or the stream ends, from sweep() once the
// request's deadline (3 target durations, §6.2.5.2) passed (503), or from
// the destructor (404). `on_ready` must not block or call back into this
// stream synchronously: an Asio handler posts the response to its own
// executor. The HTTP side calls sweep(now) (or HlsRegistry::sweep) every
// 100-250 ms.
//
// An HTTP handler for GET /hls/{stream}/{target}, in outline:
//   auto req = parse_hls_request(target);      // 400/404 + kNoStore on error
//   auto stream = registry.find(stream_name);  // 404 when none
//   auto reply = [weak, executor](HlsResponse r) { post(executor, write r) };
//   if (auto r = stream->serve(*req, Clock::now(), reply)) reply(std::move(*r));
// with status, content_type, cache_control and body() as the response
// (body() stays valid while the HlsResponse lives: it shares the bytes).
//
// Memory: the playlist lists at least `window_ms` of segments (and more
// than the skip boundary so delta updates skip something); a segment that
// left the playlist stays available for its duration plus the window
// (RFC 8216 §6.2.2), parts for 5 target durations; `max_bytes` caps it all
// (oldest first).
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"
#include "hls/fmp4_muxer.hpp"
#include "hls/hls_request.hpp"
#include "hls/playlist.hpp"
#include "record/clip_writer.hpp"

namespace lss::hls {

struct HlsOptions {
  int64_t part_target_ms = 300;
  int64_t segment_target_ms = 2000;
  int64_t window_ms = 30000;            // the playlist's length, at least
  size_t max_bytes = 64 * 1024 * 1024;  // all media bytes of the stream
  size_t max_waiters = 10000;           // blocked requests; more get 503
  // Session token of the next start() (tests); random when empty.
  std::string session;
  // PROGRAM-DATE-TIME's clock (tests); system_clock::now when empty.
  std::function<WallClock::time_point()> wall_clock;
};

struct HlsResponse {
  int status = 200;
  std::string_view content_type;  // empty for errors
  std::string cache_control;
  std::shared_ptr<const std::string> text;  // playlists
  std::shared_ptr<const Bytes> media;       // init, segments, parts

  ByteSpan body() const {
    if (text) return {reinterpret_cast<const uint8_t*>(text->data()), text->size()};
    if (media) return *media;
    return {};
  }
};

class HlsStream {
 public:
  using Callback = std::function<void(HlsResponse)>;

  explicit HlsStream(HlsOptions options = {});
  ~HlsStream();  // waiters still registered get a 404
  HlsStream(const HlsStream&) = delete;
  HlsStream& operator=(const HlsStream&) = delete;

  // --- writer side (one thread) ---
  // A new session. H264 without SPS/PPS in the spec takes them from the
  // first keyframe. Fails for what HLS here cannot carry (VP8, VP9, AV1...).
  lss::Status start(const std::vector<record::TrackSpec>& tracks);
  // A frame as the recorder has it (see Fmp4Muxer::write). An error ends
  // the session (readers see ENDLIST) and is returned.
  lss::Status on_frame(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe);
  // The stream ended: the last part is published, then ENDLIST.
  void end();

  // --- reader side (any thread) ---
  std::optional<HlsResponse> serve(const HlsRequest& request, Timestamp now, Callback on_ready);
  // Answers the waiters whose deadline passed (503). Returns how many.
  size_t sweep(Timestamp now);

  bool live() const;  // started and not ended
  std::string session() const;
  size_t bytes() const;    // media bytes held
  size_t waiters() const;  // requests waiting
  CacheTiming cache_timing() const;

 private:
  struct StoredPart {
    uint64_t seq = 0;
    uint64_t msn = 0;
    int64_t end_ms = 0;  // media time of its end
    std::shared_ptr<const Bytes> data;
  };
  struct StoredSegment {
    uint64_t msn = 0;
    int64_t end_ms = 0;
    int64_t keep_until_ms = INT64_MAX;  // set once it left the playlist
    std::shared_ptr<const Bytes> data;
  };
  struct Waiter {
    HlsRequest request;
    Timestamp deadline;
    Callback on_ready;
  };
  using Ready = std::vector<std::pair<Callback, HlsResponse>>;

  lss::Status open_muxer();
  void publish(std::vector<Fmp4Part>& parts);
  void end_locked(Ready& ready);
  void complete_segment_locked(uint64_t msn);
  void trim_locked();
  // The answer to `request` now, or nothing if it must wait.
  std::optional<HlsResponse> answer_locked(const HlsRequest& request);
  void collect_ready_locked(Ready& ready);
  std::shared_ptr<const std::string> playlist_text_locked(bool delta);
  static void deliver(Ready& ready);
  HlsResponse error(int status) const;
  CacheTiming cache_timing_locked() const;

  const HlsOptions options_;
  // Writer-only state (no lock).
  std::unique_ptr<Fmp4Muxer> muxer_;
  std::vector<record::TrackSpec> tracks_;  // until the muxer opens
  std::vector<Fmp4Part> scratch_;
  bool have_origin_ = false;
  WallClock::time_point wall_origin_;  // wall clock of media time zero

  // Shared state.
  mutable std::mutex mu_;
  std::optional<LivePlaylist> playlist_;  // none before the first start()
  bool started_ = false;                  // a session exists (maybe ended)
  std::shared_ptr<const Bytes> init_;
  std::deque<StoredPart> parts_;        // oldest first
  std::deque<StoredSegment> segments_;  // oldest first
  int64_t media_end_ms_ = 0;            // end of the last part
  size_t bytes_ = 0;
  std::vector<Waiter> waiters_;
  std::shared_ptr<const std::string> full_text_, delta_text_;  // renderings of this version
};

}  // namespace lss::hls
