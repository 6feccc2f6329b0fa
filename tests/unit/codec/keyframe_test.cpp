#include "codec/keyframe.hpp"

#include <gtest/gtest.h>

namespace lss::codec {
namespace {

TEST(Keyframe, CodecNames) {
  EXPECT_EQ(video_codec_from_name("vp8"), VideoCodec::kVP8);
  EXPECT_EQ(video_codec_from_name("H264"), VideoCodec::kH264);
  EXPECT_EQ(video_codec_from_name("AV1"), VideoCodec::kAV1);
  EXPECT_EQ(video_codec_from_name("opus"), VideoCodec::kUnknown);
}

TEST(Keyframe, Vp8) {
  // S=1 PID=0, no extension, VP8 header with P bit (inverse key) = 0.
  const uint8_t key[] = {0x10, 0x50, 0x2a, 0x00};
  EXPECT_TRUE(vp8_is_keyframe_start(key));
  const uint8_t delta[] = {0x10, 0x51, 0x2a, 0x00};
  EXPECT_FALSE(vp8_is_keyframe_start(delta));
  // Extended: X=1, I=1 with 15-bit picture id, then the header.
  const uint8_t ext_key[] = {0x90, 0x80, 0x81, 0x23, 0x50};
  EXPECT_TRUE(vp8_is_keyframe_start(ext_key));
  const uint8_t not_start[] = {0x00, 0x50};
  EXPECT_FALSE(vp8_is_keyframe_start(not_start));
  const uint8_t truncated[] = {0x90, 0x80};
  EXPECT_FALSE(vp8_is_keyframe_start(truncated));
  EXPECT_FALSE(vp8_is_keyframe_start({}));
}

TEST(Keyframe, H264) {
  const uint8_t sps[] = {0x67, 0x42};
  EXPECT_TRUE(h264_is_keyframe_start(sps));
  const uint8_t slice[] = {0x41, 0x9a};
  EXPECT_FALSE(h264_is_keyframe_start(slice));
  const uint8_t stap[] = {0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce};
  EXPECT_TRUE(h264_is_keyframe_start(stap));
  const uint8_t fu_idr_start[] = {0x7c, 0x85, 0x00};
  EXPECT_TRUE(h264_is_keyframe_start(fu_idr_start));
  const uint8_t fu_idr_middle[] = {0x7c, 0x05, 0x00};
  EXPECT_FALSE(h264_is_keyframe_start(fu_idr_middle));
  const uint8_t bad_stap[] = {0x18, 0xff, 0xff, 0x67};
  EXPECT_FALSE(h264_is_keyframe_start(bad_stap));
}

TEST(Keyframe, Vp9AndAv1) {
  const uint8_t vp9_key[] = {0x08 | 0x80, 0x01};  // I, B, not P
  EXPECT_TRUE(vp9_is_keyframe_start(vp9_key));
  const uint8_t vp9_delta[] = {0x48};
  EXPECT_FALSE(vp9_is_keyframe_start(vp9_delta));
  const uint8_t av1_new_seq[] = {0x18};
  EXPECT_TRUE(av1_is_keyframe_start(av1_new_seq));
  const uint8_t av1_cont[] = {0x98};  // Z set: continues a previous OBU
  EXPECT_FALSE(av1_is_keyframe_start(av1_cont));
}

}  // namespace
}  // namespace lss::codec
