#include "codec/depacketizer.hpp"

#include <gtest/gtest.h>

#include <random>

namespace lss::codec {
namespace {

struct Feed {
  std::unique_ptr<Depacketizer> d;
  std::vector<EncodedFrame> out;
  uint16_t seq = 100;
  explicit Feed(const char* codec) : d(Depacketizer::create(codec)) {}
  void push(uint32_t ts, bool marker, const Bytes& payload) {
    d->push(seq++, ts, marker, payload, out);
  }
};

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A VP8 keyframe payload: frame tag (key), start code, 640x480.
const Bytes kVp8Key = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0xaa, 0xbb};

TEST(Depacketizer, Vp8FrameAcrossThreePacketsWithPictureId) {
  Feed f("VP8");
  // X=1, S=1, PID=0; I=1 with a 15-bit PictureID.
  f.push(9000, false, cat({{0x90, 0x80, 0x81, 0x23}, Bytes(kVp8Key.begin(), kVp8Key.begin() + 5)}));
  f.push(9000, false,
         cat({{0x80, 0x80, 0x81, 0x23}, Bytes(kVp8Key.begin() + 5, kVp8Key.begin() + 9)}));
  f.push(9000, true, cat({{0x80, 0x80, 0x81, 0x23}, Bytes(kVp8Key.begin() + 9, kVp8Key.end())}));
  ASSERT_EQ(f.out.size(), 1u);
  EXPECT_EQ(f.out[0].data, kVp8Key);
  EXPECT_TRUE(f.out[0].keyframe);
  EXPECT_EQ(f.out[0].width, 640);
  EXPECT_EQ(f.out[0].height, 480);
  EXPECT_EQ(f.out[0].rtp_timestamp, 9000u);
  f.push(12000, true, {0x10, 0x01, 0x02});  // a delta frame in one packet
  ASSERT_EQ(f.out.size(), 2u);
  EXPECT_FALSE(f.out[1].keyframe);
}

TEST(Depacketizer, LossDropsFramesUntilTheNextKeyframe) {
  Feed f("VP8");
  f.push(0, true, cat({{0x10}, kVp8Key}));
  f.push(3000, false, {0x10, 0x01, 0x02});
  f.seq++;  // lost packet
  f.push(3000, true, {0x00, 0x03});
  f.push(6000, true, {0x10, 0x01, 0x04});  // delta after loss: useless
  EXPECT_EQ(f.out.size(), 1u);
  EXPECT_TRUE(f.d->waiting_for_keyframe());
  EXPECT_GE(f.d->dropped_frames(), 2u);
  f.push(9000, true, cat({{0x10}, kVp8Key}));
  ASSERT_EQ(f.out.size(), 2u);
  EXPECT_TRUE(f.out[1].keyframe);
  EXPECT_FALSE(f.d->waiting_for_keyframe());
}

TEST(Depacketizer, TimestampChangeWithoutMarkerAbandonsTheFrame) {
  Feed f("VP8");
  f.push(0, true, cat({{0x10}, kVp8Key}));
  f.push(3000, false, {0x10, 0x01});
  f.push(6000, true, cat({{0x10}, kVp8Key}));
  ASSERT_EQ(f.out.size(), 2u);
  EXPECT_EQ(f.out[1].rtp_timestamp, 6000u);
}

// SPS for 640x480 Constrained Baseline (as x264/Chrome emit), and a PPS.
const Bytes kSps = {0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x3d, 0xa1, 0x00, 0x00, 0x03,
                    0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x8f, 0x16, 0x2e, 0x48};
const Bytes kPps = {0x68, 0xcb, 0x83, 0xcb, 0x20};

TEST(Depacketizer, H264StapAThenFuA) {
  Feed f("h264");
  Bytes stap = {0x18};
  for (const Bytes* nal : {&kSps, &kPps}) {
    stap.push_back(uint8_t(nal->size() >> 8));
    stap.push_back(uint8_t(nal->size()));
    stap.insert(stap.end(), nal->begin(), nal->end());
  }
  f.push(0, false, stap);
  f.push(0, false, {0x7c, 0x85, 0xaa, 0xbb});  // FU-A start of an IDR (nri 3)
  f.push(0, false, {0x7c, 0x05, 0xcc});
  f.push(0, true, {0x7c, 0x45, 0xdd});  // end
  ASSERT_EQ(f.out.size(), 1u);
  const Bytes expected =
      cat({{0, 0, 0, 1}, kSps, {0, 0, 0, 1}, kPps, {0, 0, 0, 1, 0x65, 0xaa, 0xbb, 0xcc, 0xdd}});
  EXPECT_EQ(f.out[0].data, expected);
  EXPECT_TRUE(f.out[0].keyframe);
  EXPECT_EQ(f.out[0].width, 640);
  EXPECT_EQ(f.out[0].height, 480);
  f.push(3000, true, {0x41, 0x9a, 0x01});  // single NAL delta slice
  ASSERT_EQ(f.out.size(), 2u);
  EXPECT_FALSE(f.out[1].keyframe);
  EXPECT_EQ(f.out[1].data, (Bytes{0, 0, 0, 1, 0x41, 0x9a, 0x01}));
}

TEST(Depacketizer, H264SpsDimensions) {
  EXPECT_EQ(h264_sps_dimensions(kSps), std::make_pair(640, 480));
  EXPECT_EQ(h264_sps_dimensions(Bytes{0x67}), std::make_pair(0, 0));
}

// Found by fuzz_depacketizer: a High profile SPS whose scaling list's
// delta_scale is 2^31 - 1 (the spec allows -128..127) overflowed an int.
TEST(Depacketizer, H264SpsWithAnOutOfRangeScalingDeltaIsRefused) {
  const Bytes sps{0x67, 0x64, 0x00, 0x1f, 0xad, 0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xfe};
  EXPECT_EQ(h264_sps_dimensions(sps), std::make_pair(0, 0));
}

TEST(Depacketizer, Av1FragmentedObuBecomesSizedObus) {
  Feed f("AV1");
  // Packet 1: N=1, W=2: a sequence header OBU (type 1) with a length, then the
  // first fragment of a frame OBU (type 6), Y=1.
  const Bytes seq_hdr = {0x08, 0x00, 0x00, 0x00};
  f.push(0, false, cat({{0x68, uint8_t(seq_hdr.size())}, seq_hdr, {0x30, 0x11, 0x22}}));
  // Packet 2: Z=1, W=1: the rest of the frame OBU.
  f.push(0, true, {0x90, 0x33, 0x44});
  ASSERT_EQ(f.out.size(), 1u);
  EXPECT_TRUE(f.out[0].keyframe);
  const Bytes expected = {0x0a, 0x03, 0x00, 0x00, 0x00,         // seq header, has_size, size 3
                          0x32, 0x04, 0x11, 0x22, 0x33, 0x44};  // frame OBU, size 4
  EXPECT_EQ(f.out[0].data, expected);
}

TEST(Depacketizer, OpusAndVp9) {
  Feed opus("opus");
  opus.push(960, false, {0xf8, 0xff, 0xfe});
  opus.seq += 3;  // loss does not matter for audio
  opus.push(1920, false, {0xf8, 0xff, 0xfe});
  EXPECT_EQ(opus.out.size(), 2u);
  Feed vp9("VP9");
  vp9.push(0, false, {0x88, 0x01, 0x02});  // I, B; picture id
  vp9.push(0, true, {0x84, 0x01, 0x03});   // E
  ASSERT_EQ(vp9.out.size(), 1u);
  EXPECT_TRUE(vp9.out[0].keyframe);
  EXPECT_EQ(vp9.out[0].data, (Bytes{0x02, 0x03}));
  EXPECT_EQ(Depacketizer::create("G722"), nullptr);
}

TEST(Depacketizer, GarbageNeverCrashes) {
  std::mt19937 rng(7);
  for (const char* c : {"VP8", "VP9", "H264", "AV1", "opus"}) {
    Feed f(c);
    for (int i = 0; i < 3000; ++i) {
      Bytes p(rng() % 40);
      for (auto& b : p) b = uint8_t(rng());
      f.push(uint32_t(i / 3), rng() % 3 == 0, p);
    }
  }
}

}  // namespace
}  // namespace lss::codec
