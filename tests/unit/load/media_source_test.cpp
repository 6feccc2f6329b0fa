#include "media_source.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>

#include "codec/depacketizer.hpp"
#include "rtp/rtp_packet.hpp"

namespace lss::load {
namespace {

const std::string kMedia = std::string(LSS_TEST_DATA_DIR) + "/media/";

uint8_t type(const Bytes& nal) {
  return h264_nal_type(nal);
}

TEST(LoadClip, H264ClipKeyframesStartWithSpsAndPps) {
  auto clip = load_clip(kMedia + "clip-h264.mkv");
  ASSERT_TRUE(clip.ok()) << clip.error().message;
  EXPECT_EQ(clip->video_codec, codec::VideoCodec::kH264);
  ASSERT_EQ(clip->video.frames.size(), 90u);   // 3 s at 30 fps
  EXPECT_GE(clip->audio.frames.size(), 140u);  // 20 ms Opus
  size_t keyframes = 0;
  for (const auto& f : clip->video.frames) {
    ASSERT_FALSE(f.nals.empty());
    EXPECT_TRUE(f.data.empty());
    bool idr = false;
    for (const auto& n : f.nals) idr |= type(n) == 5;
    EXPECT_EQ(f.keyframe, idr);
    if (!f.keyframe) continue;
    ++keyframes;
    ASSERT_GE(f.nals.size(), 3u);
    EXPECT_EQ(type(f.nals[0]), 7) << "SPS first, at " << f.pts_us << " us";
    EXPECT_EQ(type(f.nals[1]), 8) << "then PPS";
  }
  EXPECT_TRUE(clip->video.frames.front().keyframe);
  EXPECT_EQ(keyframes, 2u);  // every 1.5 s
}

TEST(LoadClip, Vp8ClipStaysVp8) {
  auto clip = load_clip(kMedia + "clip.webm");
  ASSERT_TRUE(clip.ok()) << clip.error().message;
  EXPECT_EQ(clip->video_codec, codec::VideoCodec::kVP8);
  EXPECT_FALSE(clip->video.frames.front().data.empty());
  EXPECT_TRUE(clip->video.frames.front().nals.empty());
}

TEST(LoadClip, CorruptH264SampleIsAClearError) {
  std::ifstream in(kMedia + "clip-h264.mkv", std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The first sample starts with x264's SEI: a 4-byte length, then NAL
  // header 0x06 and payload type 5. Claim 16 MB for it instead.
  const size_t at = file.find(std::string("\x06\x05\xff\xff", 4));
  ASSERT_NE(at, std::string::npos);
  ASSERT_GE(at, 4u);
  file[at - 4] = 0x01;
  const std::string path = ::testing::TempDir() + "corrupt-h264.mkv";
  std::ofstream(path, std::ios::binary) << file;
  auto clip = load_clip(path);
  std::remove(path.c_str());
  ASSERT_FALSE(clip.ok());
  EXPECT_NE(clip.error().message.find("video frame 0"), std::string::npos) << clip.error().message;
}

TEST(ScaleVideoBitrate, H264IsPaddedWithFillerAndNeverCut) {
  auto clip = load_clip(kMedia + "clip-h264.mkv");
  ASSERT_TRUE(clip.ok());
  const double kbps = clip->video_kbps();
  const auto original = clip->video.frames;

  scale_video_bitrate(*clip, kbps / 2);
  for (size_t i = 0; i < original.size(); ++i)
    EXPECT_EQ(clip->video.frames[i].nals, original[i].nals) << "frame " << i << " was changed";

  scale_video_bitrate(*clip, kbps * 2);
  EXPECT_NEAR(clip->video_kbps(), kbps * 2, kbps * 0.01);
  for (size_t i = 0; i < original.size(); ++i) {
    const auto& f = clip->video.frames[i];
    ASSERT_EQ(f.nals.size(), original[i].nals.size() + 1);
    EXPECT_TRUE(std::equal(original[i].nals.begin(), original[i].nals.end(), f.nals.begin()));
    const Bytes& filler = f.nals.back();
    EXPECT_EQ(type(filler), 12);
    EXPECT_EQ(filler.back(), 0x80);
  }
}

// What a publisher sends for the H264 clip, reassembled by the server's
// depacketizer: the clip's access units, the marker on each one's last packet.
TEST(MediaSender, H264FramesRoundTripWithTheMarkerOnTheLastPacket) {
  auto clip = load_clip(kMedia + "clip-h264.mkv");
  ASSERT_TRUE(clip.ok());
  SenderConfig cfg;
  cfg.video_ssrc = 1234;
  cfg.audio_ssrc = 5678;
  cfg.video_pt = 102;
  MediaSender sender(*clip, cfg);

  struct Packet {
    uint16_t seq;
    uint32_t ts;
    bool marker;
    Bytes payload;
  };
  std::vector<Packet> video;
  auto emit = [&](uint8_t* data, size_t len, bool is_video) {
    if (!is_video) return;
    RtpPacket p;
    ASSERT_TRUE(RtpPacket::parse(data, len, p));
    EXPECT_EQ(p.payload_type(), 102);
    EXPECT_EQ(p.find_extension(cfg.abs_send_time_id).size(), 3u) << "abs-send-time";
    EXPECT_LE(p.payload().size(), cfg.max_payload);
    video.push_back({p.sequence_number(), p.timestamp(), p.marker(),
                     Bytes(p.payload().begin(), p.payload().end())});
  };
  const Timestamp t0 = Clock::now();
  sender.poll(t0, emit);
  sender.poll(t0 + milliseconds(2990), emit);  // every frame of the clip, once
  ASSERT_EQ(sender.video_frames, 90u);
  EXPECT_EQ(sender.keyframes, 2u);

  auto d = codec::Depacketizer::create("H264");
  std::vector<codec::EncodedFrame> frames;
  std::map<uint32_t, size_t> markers;  // per timestamp
  for (size_t i = 0; i < video.size(); ++i) {
    const Packet& p = video[i];
    if (i > 0) {
      EXPECT_EQ(p.seq, uint16_t(video[i - 1].seq + 1));
    }
    const bool last_of_frame = i + 1 == video.size() || video[i + 1].ts != p.ts;
    EXPECT_EQ(p.marker, last_of_frame) << "packet " << i;
    markers[p.ts] += p.marker;
    d->push(p.seq, p.ts, p.marker, p.payload, frames);
  }
  EXPECT_EQ(markers.size(), 90u);
  ASSERT_EQ(frames.size(), 90u);
  EXPECT_EQ(d->dropped_frames(), 0u);
  for (size_t i = 0; i < frames.size(); ++i) {
    Bytes want;
    for (const auto& n : clip->video.frames[i].nals) {
      want.insert(want.end(), {0, 0, 0, 1});
      want.insert(want.end(), n.begin(), n.end());
    }
    EXPECT_EQ(frames[i].data, want) << "frame " << i;
    EXPECT_EQ(frames[i].keyframe, clip->video.frames[i].keyframe);
  }
  EXPECT_EQ(frames[0].width, 640);
  EXPECT_EQ(frames[0].height, 360);

  // A keyframe request replays the clip's first keyframe, SPS and PPS first,
  // in place of the frame due next (the second loop's 20th here).
  sender.poll(t0 + milliseconds(3600), emit);
  EXPECT_EQ(sender.keyframes, 3u);
  video.clear();
  sender.request_keyframe(t0 + milliseconds(4000));
  sender.poll(t0 + milliseconds(4000), emit);
  ASSERT_FALSE(video.empty());
  EXPECT_EQ(video.front().payload[0] & 0x1f, 24) << "STAP-A";
  EXPECT_EQ(video.front().payload[3] & 0x1f, 7) << "SPS first";
  EXPECT_EQ(sender.keyframes, 4u);
}

}  // namespace
}  // namespace lss::load
