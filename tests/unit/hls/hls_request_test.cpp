#include "hls/hls_request.hpp"

#include <gtest/gtest.h>

namespace lss::hls {
namespace {

TEST(HlsRequest, Names) {
  EXPECT_EQ(init_name("ab12"), "init-ab12.mp4");
  EXPECT_EQ(segment_name("ab12", 7), "seg-ab12-7.mp4");
  EXPECT_EQ(part_name("ab12", 42), "part-ab12-42.mp4");
}

TEST(HlsRequest, PlainPlaylist) {
  auto r = parse_hls_request("index.m3u8");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->object, HlsObject::kPlaylist);
  EXPECT_FALSE(r->blocking());
  EXPECT_FALSE(r->skip);
}

TEST(HlsRequest, BlockingReloadWithSkip) {
  auto r = parse_hls_request("index.m3u8?_HLS_msn=12&_HLS_part=3&_HLS_skip=YES");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->blocking());
  EXPECT_EQ(*r->hls_msn, 12u);
  EXPECT_EQ(*r->hls_part, 3u);
  EXPECT_TRUE(r->skip);
  auto v2 = parse_hls_request("index.m3u8?_HLS_skip=v2&_HLS_msn=5&token=abc");
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->skip);
  EXPECT_EQ(*v2->hls_msn, 5u);
  EXPECT_FALSE(v2->hls_part);
}

TEST(HlsRequest, BadDirectivesAre400) {
  for (const char* target :
       {"index.m3u8?_HLS_part=1", "index.m3u8?_HLS_msn=", "index.m3u8?_HLS_msn=-1",
        "index.m3u8?_HLS_msn=1x", "index.m3u8?_HLS_msn=1&_HLS_part=a",
        "index.m3u8?_HLS_msn=1&_HLS_msn=2", "index.m3u8?_HLS_skip=yes",
        "index.m3u8?_HLS_skip=YES&_HLS_skip=YES", "index.m3u8?_HLS_msn=99999999999999999999"}) {
    auto r = parse_hls_request(target);
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_EQ(r.error().status, 400) << target;
  }
}

TEST(HlsRequest, MediaObjects) {
  auto init = parse_hls_request("init-ab12.mp4");
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(init->object, HlsObject::kInit);
  EXPECT_EQ(init->session, "ab12");
  auto seg = parse_hls_request("seg-ab12-7.mp4?x=1");
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ(seg->object, HlsObject::kSegment);
  EXPECT_EQ(seg->session, "ab12");
  EXPECT_EQ(seg->msn, 7u);
  auto part = parse_hls_request("part-ab12-42.mp4");
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->object, HlsObject::kPart);
  EXPECT_EQ(part->part, 42u);
}

TEST(HlsRequest, UnknownNamesAre404) {
  for (const char* target :
       {"", "index.m3u", "other.m3u8", "init.mp4", "init-.mp4", "init-a/b.mp4", "seg-ab12.mp4",
        "seg-ab12-x.mp4", "seg--1.mp4", "part-ab12-1.ts", "../index.m3u8", "part-ab12--1.mp4"}) {
    auto r = parse_hls_request(target);
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_EQ(r.error().status, 404) << target;
  }
}

TEST(HlsRequest, CacheControl) {
  const CacheTiming timing{300};
  auto get = [&](const char* target) {
    return cache_control(parse_hls_request(target).value(), timing);
  };
  EXPECT_EQ(get("part-a-1.mp4"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get("seg-a-1.mp4"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get("init-a.mp4"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get("index.m3u8"), "public, max-age=1");
  EXPECT_EQ(get("index.m3u8?_HLS_msn=3&_HLS_part=1"), "public, max-age=2");
  EXPECT_EQ(content_type(HlsObject::kPlaylist), "application/vnd.apple.mpegurl");
  EXPECT_EQ(content_type(HlsObject::kPart), "video/mp4");
}

}  // namespace
}  // namespace lss::hls
