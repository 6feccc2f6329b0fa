// /hls/{stream}/...: which streams get HLS, the answers and their headers,
// blocked playlist requests answered as parts come, the entry's lifetime.
#include "app/hls_api.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "../hls/media_fixture.hpp"

namespace lss {
namespace {

using http::Request;
using http::Response;
using http::Verb;

std::optional<Response> call(const http::Handler& h, Verb verb, std::string target) {
  Request req{verb, target, 11};
  std::optional<Response> out;
  h(req, {}, [&](Response r) { out = std::move(r); });
  return out;
}

const std::vector<record::RecordedTrack> kH264 = {{true, "H264", 90000}, {false, "opus", 48000}};
const std::vector<record::RecordedTrack> kVp8 = {{true, "VP8", 90000}, {false, "opus", 48000}};

TEST(HlsApi, OnlyH264WithOpusIsCarried) {
  EXPECT_EQ(hls_unsupported_reason("cam", kH264), "");
  EXPECT_EQ(hls_unsupported_reason("cam", {{true, "H264", 90000}}), "");
  EXPECT_EQ(hls_unsupported_reason("x", kVp8),
            "stream 'x' is VP8: HLS here carries H264 only (publish H264 to watch over HLS)");
  EXPECT_NE(hls_unsupported_reason("x", {{true, "AV1", 90000}}).find("H264 only"),
            std::string::npos);
  EXPECT_NE(hls_unsupported_reason("x", {{false, "opus", 48000}}), "");
}

TEST(HlsApi, RefusedAndUnknownStreamsAnswer404WithTheReason) {
  boost::asio::io_context io;
  HlsService hls(io, {});
  auto h = hls.handler();
  auto tap = hls.open("vp", kVp8);
  ASSERT_NE(tap, nullptr);
  auto r = call(h, Verb::get, "/hls/vp/index.m3u8");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 404);
  EXPECT_NE(r->body().find("is VP8: HLS here carries H264 only"), std::string::npos) << r->body();
  EXPECT_EQ((*r)[http::bhttp::field::access_control_allow_origin], "*");
  EXPECT_EQ((*r)[http::bhttp::field::cache_control], "no-store");

  r = call(h, Verb::get, "/hls/nobody/index.m3u8");
  EXPECT_EQ(r->result_int(), 404);
  EXPECT_NE(r->body().find("not live"), std::string::npos);
  EXPECT_EQ(call(h, Verb::get, "/hls/bad.name/index.m3u8")->result_int(), 404);
  EXPECT_EQ(call(h, Verb::get, "/hls/vp")->result_int(), 404);
  EXPECT_EQ(call(h, Verb::post, "/hls/vp/index.m3u8")->result_int(), 405);

  // The stream ended: after the linger the reason is forgotten.
  tap->end();
  EXPECT_EQ(hls.registry().size(), 0u);
}

TEST(HlsApi, ServesAnH264StreamAsItsPartsCome) {
  boost::asio::io_context io;
  HlsSettings settings;
  settings.stream.session = "s1";
  settings.linger = std::chrono::milliseconds(0);
  HlsService hls(io, settings);
  auto h = hls.handler();
  auto tap = hls.open("cam", kH264);
  ASSERT_EQ(hls.registry().size(), 1u);

  // Asked before anything was published: the answer waits.
  std::optional<Response> first;
  {
    Request req{Verb::get, "/hls/cam/index.m3u8", 11};
    h(req, {}, [&](Response r) { first = std::move(r); });
  }
  EXPECT_FALSE(first);
  EXPECT_EQ(call(h, Verb::get, "/hls/cam/index.m3u8?_HLS_part=1")->result_int(), 400);

  const auto clip = hls::testing::load_clip();
  for (const auto& f : hls::testing::looped(clip, 2))
    tap->on_frame(f.track, f.data, f.pts_ms, f.keyframe);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->result_int(), 200);
  EXPECT_EQ((*first)[http::bhttp::field::content_type], "application/vnd.apple.mpegurl");
  EXPECT_EQ((*first)[http::bhttp::field::access_control_allow_origin], "*");
  EXPECT_NE(first->body().find("#EXT-X-PART:"), std::string::npos);
  EXPECT_NE(first->body().find("#EXT-X-PRELOAD-HINT"), std::string::npos);

  auto init = call(h, Verb::get, "/hls/cam/init-s1.mp4");
  ASSERT_TRUE(init);
  EXPECT_EQ(init->result_int(), 200);
  EXPECT_NE((*init)[http::bhttp::field::cache_control].find("immutable"), std::string::npos);
  auto head = call(h, Verb::head, "/hls/cam/init-s1.mp4");
  EXPECT_EQ(head->result_int(), 200);
  EXPECT_TRUE(head->body().empty());
  EXPECT_EQ((*head)[http::bhttp::field::content_length], std::to_string(init->body().size()));
  EXPECT_EQ(call(h, Verb::get, "/hls/cam/part-s1-0.mp4")->result_int(), 200);

  // The end: ENDLIST, then the entry goes once the linger passed.
  tap->end();
  auto last = call(h, Verb::get, "/hls/cam/index.m3u8");
  EXPECT_NE(last->body().find("#EXT-X-ENDLIST"), std::string::npos);
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(hls.registry().size(), 0u);
  EXPECT_EQ(call(h, Verb::get, "/hls/cam/index.m3u8")->result_int(), 404);
}

TEST(HlsApi, ANewSessionReplacesTheEndedOne) {
  boost::asio::io_context io;
  HlsSettings settings;
  settings.linger = std::chrono::milliseconds(0);
  HlsService hls(io, settings);
  auto old_tap = hls.open("cam", kH264);
  auto old_stream = hls.registry().find("cam");
  auto new_tap = hls.open("cam", kH264);
  old_tap->end();  // the old recorder finishes after the new session started
  io.run_for(std::chrono::milliseconds(50));
  ASSERT_NE(hls.registry().find("cam"), nullptr);
  EXPECT_NE(hls.registry().find("cam"), old_stream);
}

}  // namespace
}  // namespace lss
