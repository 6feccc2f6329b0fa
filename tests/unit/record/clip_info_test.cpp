// The sidecar reader (what the uploader reads back from the spool): a
// sidecar garbled into other JSON types is unreadable, not an exception on
// the uploader's thread (which ended the server) nor undefined behaviour.
#include "record/clip_info.hpp"

#include <gtest/gtest.h>

namespace lss::record {
namespace {

ClipInfo sample() {
  ClipInfo c;
  c.stream_name = "cam1";
  c.stream_id = "00a1";
  c.index = 3;
  c.object_key = "cam1/20240101T000000Z-00a1/3.webm";
  c.duration_s = 10.5;
  c.bytes = 1234567;
  c.width = 1280;
  c.height = 720;
  c.video_frames = 300;
  return c;
}

TEST(Sidecar, RoundTrips) {
  auto back = parse_sidecar(to_json(sample()).dump(2));
  ASSERT_TRUE(back);
  EXPECT_EQ(to_json(*back), to_json(sample()));
}

TEST(Sidecar, MissingOptionalFieldsTakeDefaults) {
  auto c = parse_sidecar(R"({"stream":"a","object_key":"a/b/0.webm"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->index, 0);
  EXPECT_EQ(c->bytes, 0u);
  EXPECT_EQ(c->video_codec, "");
}

TEST(Sidecar, NotASidecar) {
  EXPECT_FALSE(parse_sidecar(""));
  EXPECT_FALSE(parse_sidecar("{not json"));
  EXPECT_FALSE(parse_sidecar("[1,2]"));
  EXPECT_FALSE(parse_sidecar(R"({"stream":"a"})"));  // no object key
}

// Found by fuzz_sidecar: nlohmann's value() throws on a field of another
// type, and converts out-of-range numbers with undefined behaviour.
TEST(Sidecar, FieldsOfTheWrongTypeAreUnreadable) {
  for (const char* bad : {
           R"({"stream":"a","object_key":"k","index":"3"})",
           R"({"stream":"a","object_key":"k","bytes":"12"})",
           R"({"stream":"a","object_key":"k","duration":"1.5"})",
           R"({"stream":"a","object_key":"k","video_codec":7})",
           R"({"stream":1,"object_key":"k"})",
           R"({"stream":"a","object_key":"k","width":1e300})",
           R"({"stream":"a","object_key":"k","height":4294967296})",
           R"({"stream":"a","object_key":"k","audio_frames":-1})",
           R"({"stream":"a","object_key":"k","duration":1e400})",
       }) {
    EXPECT_FALSE(parse_sidecar(bad)) << bad;
  }
}

}  // namespace
}  // namespace lss::record
