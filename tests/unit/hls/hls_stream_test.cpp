#include "hls/hls_stream.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "hls/hls_registry.hpp"
#include "media_fixture.hpp"

namespace lss::hls {
namespace {

using testing::Clip;
using testing::Frame;
using testing::load_clip;
using testing::looped;

HlsRequest req(std::string_view target) {
  auto r = parse_hls_request(target);
  EXPECT_TRUE(r.ok()) << target;
  return r.ok() ? r.value() : HlsRequest{};
}

std::string text_of(const HlsResponse& r) {
  return r.text ? *r.text : std::string();
}

// Collects what a waiter got.
struct Got {
  int calls = 0;
  HlsResponse response;
  HlsStream::Callback callback() {
    return [this](HlsResponse r) {
      calls++;
      response = std::move(r);
    };
  }
};

class HlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clip_ = load_clip();
    ASSERT_EQ(clip_.tracks.size(), 2u);
    options_.session = "t1";
    options_.wall_clock = [] { return WallClock::time_point(std::chrono::seconds(1796292000)); };
  }
  // Feeds frames from `frames_` until `done()` or they run out.
  template <typename Pred>
  bool feed_until(HlsStream& s, Pred done) {
    while (next_ < frames_.size()) {
      const Frame& f = frames_[next_++];
      EXPECT_TRUE(s.on_frame(f.track, f.data, f.pts_ms, f.keyframe).ok());
      if (done()) return true;
    }
    return false;
  }
  void feed_all(HlsStream& s) {
    feed_until(s, [] { return false; });
  }
  Clip clip_;
  HlsOptions options_;
  std::vector<Frame> frames_;
  size_t next_ = 0;
  const Timestamp t0_ = Timestamp{} + std::chrono::hours(1);
};

// The media a playlist lists, parts of the segment in progress included (ms).
int64_t listed_ms(const std::string& text) {
  int64_t total = 0;
  size_t at = 0;
  while ((at = text.find("#EXT-X-PART:DURATION=", at)) != std::string::npos) {
    at += 21;
    total += int64_t(std::stod(text.substr(at, text.find(',', at) - at)) * 1000 + 0.5);
  }
  return total;
}

// The first playlist waits until the stream is as long as its
// PART-HOLD-BACK (0.9 s here): a player starting at its very beginning is
// then that far behind the live edge, as it would be later.
TEST_F(HlsStreamTest, FirstPlaylistWaitsForThePartHoldBack) {
  HlsStream s(options_);
  EXPECT_EQ(s.serve(req("index.m3u8"), t0_, nullptr)->status, 404);  // not started
  ASSERT_TRUE(s.start(clip_.tracks).ok());
  EXPECT_EQ(s.session(), "t1");
  Got got;
  EXPECT_FALSE(s.serve(req("index.m3u8"), t0_, got.callback()));
  EXPECT_EQ(s.waiters(), 1u);
  frames_ = looped(clip_, 1);
  ASSERT_TRUE(feed_until(s, [&] { return got.calls > 0; }));
  EXPECT_EQ(got.calls, 1);
  EXPECT_EQ(got.response.status, 200);
  EXPECT_EQ(got.response.content_type, "application/vnd.apple.mpegurl");
  EXPECT_EQ(got.response.cache_control, "public, max-age=1");
  const std::string text = text_of(got.response);
  EXPECT_NE(text.find("#EXT-X-MAP:URI=\"init-t1.mp4\"\n"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-PART:DURATION=0.267,URI=\"part-t1-0.mp4\",INDEPENDENT=YES\n"),
            std::string::npos);
  EXPECT_GE(listed_ms(text), 900);
  EXPECT_LT(listed_ms(text), 900 + 300);  // answered with the part that made it
  EXPECT_NE(text.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-t1-4.mp4\"\n"), std::string::npos)
      << text;
  EXPECT_EQ(s.waiters(), 0u);
  // The init segment and the part are there.
  auto init = s.serve(req("init-t1.mp4"), t0_, nullptr);
  ASSERT_TRUE(init);
  EXPECT_EQ(init->status, 200);
  EXPECT_EQ(init->cache_control, "public, max-age=31536000, immutable");
  auto part = s.serve(req("part-t1-0.mp4"), t0_, nullptr);
  ASSERT_TRUE(part);
  ASSERT_EQ(part->status, 200);
  ASSERT_GT(part->body().size(), 8u);
  EXPECT_EQ(std::string(part->body().begin() + 4, part->body().begin() + 8), "moof");
  // Another session's names are not ours.
  EXPECT_EQ(s.serve(req("part-t2-0.mp4"), t0_, nullptr)->status, 404);
  EXPECT_EQ(s.serve(req("init-t2.mp4"), t0_, nullptr)->status, 404);
}

TEST_F(HlsStreamTest, BlockingReloadIsAnsweredWhenThePartIsPublished) {
  HlsStream s(options_);
  ASSERT_TRUE(s.start(clip_.tracks).ok());
  frames_ = looped(clip_, 2);
  Got first;
  ASSERT_FALSE(s.serve(req("index.m3u8"), t0_, first.callback()));
  ASSERT_TRUE(feed_until(s, [&] { return first.calls > 0; }));
  // Parts 0-3 of msn 0 are out (the hold-back); ask for part 5 (and for
  // the hinted part 4).
  Got blocked, hinted;
  EXPECT_FALSE(s.serve(req("index.m3u8?_HLS_msn=0&_HLS_part=5"), t0_, blocked.callback()));
  EXPECT_FALSE(s.serve(req("part-t1-4.mp4"), t0_, hinted.callback()));
  EXPECT_EQ(s.waiters(), 2u);
  ASSERT_TRUE(feed_until(s, [&] { return hinted.calls > 0; }));
  EXPECT_EQ(hinted.response.status, 200);
  EXPECT_EQ(blocked.calls, 0);
  ASSERT_TRUE(feed_until(s, [&] { return blocked.calls > 0; }));
  EXPECT_EQ(blocked.response.status, 200);
  EXPECT_EQ(blocked.response.cache_control, "public, max-age=2");
  const std::string text = text_of(blocked.response);
  EXPECT_NE(text.find("URI=\"part-t1-5.mp4\""), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-t1-6.mp4\"\n"), std::string::npos);
  // Already there: answered at once. A part index past the end of a
  // completed segment is part 0 of the next one.
  auto now = s.serve(req("index.m3u8?_HLS_msn=0&_HLS_part=2"), t0_, nullptr);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->status, 200);
  // Segment 0 (1.5 s, one GOP) has parts 0-5.
  Got next_segment;
  EXPECT_FALSE(s.serve(req("index.m3u8?_HLS_msn=0&_HLS_part=6"), t0_, next_segment.callback()));
  ASSERT_TRUE(feed_until(s, [&] { return next_segment.calls > 0; }));
  const std::string next_text = text_of(next_segment.response);
  EXPECT_NE(next_text.find("#EXTINF:1.500,\nseg-t1-0.mp4\n"), std::string::npos) << next_text;
  EXPECT_NE(next_text.find("URI=\"part-t1-6.mp4\",INDEPENDENT=YES"), std::string::npos);
  auto seg = s.serve(req("seg-t1-0.mp4"), t0_, nullptr);
  ASSERT_TRUE(seg);
  EXPECT_EQ(seg->status, 200);
  // The segment is its parts, in order.
  Bytes joined;
  for (int i = 0; i <= 5; ++i) {
    auto p = s.serve(req("part-t1-" + std::to_string(i) + ".mp4"), t0_, nullptr);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->status, 200);
    joined.insert(joined.end(), p->body().begin(), p->body().end());
  }
  EXPECT_EQ(Bytes(seg->body().begin(), seg->body().end()), joined);
}

TEST_F(HlsStreamTest, ImpossibleRequestsAre400AndLateOnesTimeOut) {
  HlsStream s(options_);
  ASSERT_TRUE(s.start(clip_.tracks).ok());
  frames_ = looped(clip_, 1);
  Got first;
  ASSERT_FALSE(s.serve(req("index.m3u8"), t0_, first.callback()));
  ASSERT_TRUE(feed_until(s, [&] { return first.calls > 0; }));
  // No segment complete yet (the last complete is "-1"): msn 1 is the
  // furthest one may ask for.
  EXPECT_EQ(s.serve(req("index.m3u8?_HLS_msn=2"), t0_, nullptr)->status, 400);
  // 300 ms parts: at most 10 parts ahead of the last (part 3).
  EXPECT_EQ(s.serve(req("index.m3u8?_HLS_msn=0&_HLS_part=14"), t0_, nullptr)->status, 400);
  EXPECT_EQ(s.serve(req("part-t1-5.mp4"), t0_, nullptr)->status, 404);  // not the hint
  Got late;
  EXPECT_FALSE(s.serve(req("index.m3u8?_HLS_msn=1"), t0_, late.callback()));
  EXPECT_EQ(s.sweep(t0_ + std::chrono::seconds(5)), 0u);
  EXPECT_EQ(late.calls, 0);
  // Three target durations (2 s): 6 s.
  EXPECT_EQ(s.sweep(t0_ + std::chrono::seconds(6)), 1u);
  EXPECT_EQ(late.calls, 1);
  EXPECT_EQ(late.response.status, 503);
  EXPECT_EQ(late.response.cache_control, "no-store");
  EXPECT_EQ(s.waiters(), 0u);
}

TEST_F(HlsStreamTest, EndAnswersWaitersWithEndlist) {
  HlsStream s(options_);
  ASSERT_TRUE(s.start(clip_.tracks).ok());
  frames_ = looped(clip_, 1);
  Got first;
  ASSERT_FALSE(s.serve(req("index.m3u8"), t0_, first.callback()));
  ASSERT_TRUE(feed_until(s, [&] { return first.calls > 0; }));
  Got blocked, hinted;
  const uint64_t hint = 1;
  EXPECT_FALSE(s.serve(req("index.m3u8?_HLS_msn=1&_HLS_part=0"), t0_, blocked.callback()));
  s.end();  // after only part of the clip
  EXPECT_FALSE(s.live());
  EXPECT_EQ(blocked.calls, 1);
  EXPECT_EQ(blocked.response.status, 200);
  const std::string text = text_of(blocked.response);
  EXPECT_NE(text.find("#EXT-X-ENDLIST\n"), std::string::npos);
  EXPECT_EQ(text.find("PRELOAD-HINT"), std::string::npos);
  EXPECT_NE(text.find("seg-t1-0.mp4"), std::string::npos);
  // The last part (what was held back) was published; nothing waits now.
  EXPECT_EQ(
      s.serve(req("part-t1-" + std::to_string(hint) + ".mp4"), t0_, hinted.callback())->status,
      200);
  EXPECT_EQ(s.serve(req("part-t1-99.mp4"), t0_, nullptr)->status, 404);
  EXPECT_EQ(s.serve(req("seg-t1-0.mp4"), t0_, nullptr)->status, 200);
}

TEST_F(HlsStreamTest, ANewSessionHasNewNames) {
  options_.session.clear();  // random tokens
  HlsStream s(options_);
  ASSERT_TRUE(s.start(clip_.tracks).ok());
  frames_ = looped(clip_, 2);
  feed_until(s, [&] { return next_ == frames_.size() * 3 / 4; });
  const std::string first = s.session();
  EXPECT_EQ(first.size(), 8u);
  EXPECT_EQ(s.serve(req("seg-" + first + "-0.mp4"), t0_, nullptr)->status, 200);
  // The publisher comes back: the first session ends, a second begins.
  ASSERT_TRUE(s.start(clip_.tracks).ok());
  EXPECT_TRUE(s.live());
  const std::string second = s.session();
  EXPECT_NE(second, first);
  EXPECT_EQ(s.serve(req("seg-" + first + "-0.mp4"), t0_, nullptr)->status, 404);
  feed_all(s);
  auto pl = s.serve(req("index.m3u8"), t0_, nullptr);
  ASSERT_TRUE(pl);
  EXPECT_NE(text_of(*pl).find("#EXT-X-MEDIA-SEQUENCE:0\n"), std::string::npos);
  EXPECT_NE(text_of(*pl).find("init-" + second + ".mp4"), std::string::npos);
}

TEST_F(HlsStreamTest, DestroyingTheStreamAnswersWaiters) {
  Got got;
  {
    HlsStream s(options_);
    ASSERT_TRUE(s.start(clip_.tracks).ok());
    EXPECT_FALSE(s.serve(req("index.m3u8"), t0_, got.callback()));
  }
  EXPECT_EQ(got.calls, 1);
  EXPECT_EQ(got.response.status, 404);
}

TEST_F(HlsStreamTest, TheWindowSlidesAndMemoryStaysBounded) {
  options_.window_ms = 1000;  // raised to 8 target durations (16 s)
  HlsStream s(options_);
  ASSERT_TRUE(s.start(clip_.tracks).ok());
  frames_ = looped(clip_, 40);  // 120 s
  feed_all(s);
  auto pl = s.serve(req("index.m3u8"), t0_, nullptr);
  ASSERT_TRUE(pl);
  const std::string text = text_of(*pl);
  // 1.5 s segments: 0-78 complete, 79 in progress; the playlist keeps at
  // least 16 s of them: 68-78 (16.5 s).
  EXPECT_NE(text.find("#EXT-X-TARGETDURATION:2\n"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-MEDIA-SEQUENCE:68\n"), std::string::npos) << text;
  EXPECT_EQ(s.serve(req("seg-t1-67.mp4"), t0_, nullptr)->status, 200);  // just removed: kept
  EXPECT_EQ(s.serve(req("seg-t1-30.mp4"), t0_, nullptr)->status, 404);  // long gone
  EXPECT_EQ(s.serve(req("part-t1-0.mp4"), t0_, nullptr)->status, 404);
  // About 33 s of segments (window + availability) and 10 s of parts at
  // ~1 Mbit/s, far from 120 s of it.
  EXPECT_LT(s.bytes(), 6u * 1000 * 1000);
  // Delta updates skip what ends 6 target durations (12 s) before the end
  // (18 s in all): msn 68-70.
  auto delta = s.serve(req("index.m3u8?_HLS_skip=YES"), t0_, nullptr);
  ASSERT_TRUE(delta);
  EXPECT_NE(text_of(*delta).find("#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n"), std::string::npos)
      << text_of(*delta);
  EXPECT_EQ(text_of(*delta).find("seg-t1-70.mp4"), std::string::npos);
  EXPECT_NE(text_of(*delta).find("seg-t1-71.mp4"), std::string::npos);
}

TEST_F(HlsStreamTest, ByteCapEvictsOldestFirst) {
  options_.max_bytes = 1500 * 1000;
  HlsStream s(options_);
  ASSERT_TRUE(s.start(clip_.tracks).ok());
  frames_ = looped(clip_, 10);
  feed_all(s);
  EXPECT_LE(s.bytes(), options_.max_bytes);
  auto pl = s.serve(req("index.m3u8"), t0_, nullptr);
  ASSERT_TRUE(pl);
  // Whatever the playlist lists can be fetched.
  const std::string text = text_of(*pl);
  size_t at = 0;
  int listed = 0;
  while ((at = text.find("seg-t1-", at)) != std::string::npos) {
    const size_t end = text.find('\n', at);
    EXPECT_EQ(s.serve(req(text.substr(at, end - at)), t0_, nullptr)->status, 200)
        << text.substr(at, end - at);
    at = end;
    listed++;
  }
  EXPECT_GT(listed, 0);
}

TEST_F(HlsStreamTest, SpsAndPpsFromTheFirstKeyframe) {
  auto tracks = clip_.tracks;
  tracks[0].extradata.clear();
  HlsStream s(options_);
  ASSERT_TRUE(s.start(tracks).ok());
  EXPECT_EQ(s.serve(req("init-t1.mp4"), t0_, nullptr)->status, 404);
  frames_ = looped(clip_, 1);
  ASSERT_TRUE(
      feed_until(s, [&] { return s.serve(req("part-t1-0.mp4"), t0_, nullptr)->status == 200; }));
  EXPECT_EQ(s.serve(req("init-t1.mp4"), t0_, nullptr)->status, 200);
}

TEST_F(HlsStreamTest, RefusesVp8) {
  HlsStream s(options_);
  EXPECT_FALSE(s.start({{true, "VP8", 640, 480, {}}, {false, "opus", 0, 0, {}}}).ok());
  EXPECT_FALSE(s.live());
}

TEST_F(HlsStreamTest, ReadersOnOtherThreads) {
  HlsStream s(options_);
  ASSERT_TRUE(s.start(clip_.tracks).ok());
  frames_ = looped(clip_, 4);
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, bad{0};
  // Readers chase the live edge with blocking reloads, as players do.
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      uint64_t msn = 0, part = 0;
      while (!stop) {
        std::atomic<bool> done{false};
        HlsResponse got;
        std::mutex m;
        auto cb = [&](HlsResponse resp) {
          std::lock_guard l(m);
          got = std::move(resp);
          done = true;
        };
        const std::string target =
            "index.m3u8?_HLS_msn=" + std::to_string(msn) + "&_HLS_part=" + std::to_string(part);
        if (auto now = s.serve(req(target), Clock::now(), cb)) {
          cb(std::move(*now));
        }
        while (!done && !stop) std::this_thread::yield();
        if (!done) break;
        std::lock_guard l(m);
        if (got.status != 200) {
          bad++;
          break;
        }
        answered++;
        const std::string& text = *got.text;
        if (text.find("#EXT-X-ENDLIST") != std::string::npos) break;
        part++;
        if (part > 9) msn++, part = 0;  // simple chase; exactness is not the point
      }
    });
  }
  int errors = 0;
  for (const auto& f : frames_) {
    errors += !s.on_frame(f.track, f.data, f.pts_ms, f.keyframe).ok();
    std::this_thread::sleep_for(std::chrono::microseconds(300));  // ~4x real time
  }
  EXPECT_EQ(errors, 0);
  s.end();
  for (auto& t : readers) t.join();
  stop = true;
  EXPECT_GT(answered.load(), 10);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(s.waiters(), 0u);
}

TEST(HlsRegistry, AddFindRemove) {
  HlsRegistry reg;
  auto a = std::make_shared<HlsStream>();
  auto b = std::make_shared<HlsStream>();
  reg.add("cam", a);
  EXPECT_EQ(reg.find("cam"), a);
  EXPECT_EQ(reg.find("other"), nullptr);
  reg.add("cam", b);  // a newer stream under the same name
  reg.remove("cam", a.get());
  EXPECT_EQ(reg.find("cam"), b);
  EXPECT_EQ(reg.size(), 1u);
  EXPECT_EQ(reg.names(), std::vector<std::string>{"cam"});
  EXPECT_EQ(reg.sweep(Clock::now()), 0u);
  reg.remove("cam");
  EXPECT_EQ(reg.find("cam"), nullptr);
}

TEST_F(HlsStreamTest, RegistryTotalsCountStreamsWaitersAndBytes) {
  Got w1, w2;  // outlive the streams: their end answers what still waits
  HlsRegistry reg;
  auto a = std::make_shared<HlsStream>(options_);
  auto b = std::make_shared<HlsStream>(options_);
  reg.add("a", a);
  reg.add("b", b);
  ASSERT_TRUE(a->start(clip_.tracks).ok());
  ASSERT_TRUE(b->start(clip_.tracks).ok());
  EXPECT_FALSE(a->serve(req("index.m3u8"), t0_, w1.callback()));
  EXPECT_FALSE(b->serve(req("index.m3u8"), t0_, w2.callback()));
  auto t = reg.totals();
  EXPECT_EQ(t.streams, 2u);
  EXPECT_EQ(t.waiters, 2u);
  frames_ = looped(clip_, 1);
  ASSERT_TRUE(feed_until(*a, [&] { return w1.calls > 0; }));
  t = reg.totals();
  EXPECT_EQ(t.waiters, 1u);
  EXPECT_EQ(t.bytes, a->bytes() + b->bytes());
  EXPECT_GT(t.bytes, 0u);
}

}  // namespace
}  // namespace lss::hls
