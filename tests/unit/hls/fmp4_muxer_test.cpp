#include "hls/fmp4_muxer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string_view>

#include "media_fixture.hpp"

namespace lss::hls {
namespace {

namespace fs = std::filesystem;
using testing::Clip;
using testing::load_clip;
using testing::looped;

struct Probe {
  bool opened = false;
  std::vector<AVCodecID> codecs;
  std::vector<int64_t> packets;
  std::vector<int64_t> first_pts_ms;
  bool first_video_key = false;
  int width = 0, height = 0;
  double duration_s = 0;
};

Probe probe_bytes(const Bytes& bytes) {
  static int n = 0;
  const fs::path path = fs::temp_directory_path() / ("lss_hls_" + std::to_string(::getpid()) + "_" +
                                                     std::to_string(n++) + ".mp4");
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  Probe p;
  AVFormatContext* in = nullptr;
  if (avformat_open_input(&in, path.c_str(), nullptr, nullptr) == 0) {
    p.opened = true;
    avformat_find_stream_info(in, nullptr);
    for (unsigned i = 0; i < in->nb_streams; ++i) {
      p.codecs.push_back(in->streams[i]->codecpar->codec_id);
      if (in->streams[i]->codecpar->width) {
        p.width = in->streams[i]->codecpar->width;
        p.height = in->streams[i]->codecpar->height;
      }
    }
    p.packets.assign(in->nb_streams, 0);
    p.first_pts_ms.assign(in->nb_streams, -1);
    AVPacket* pkt = av_packet_alloc();
    bool seen_video = false;
    while (av_read_frame(in, pkt) >= 0) {
      const size_t i = size_t(pkt->stream_index);
      if (p.packets[i]++ == 0) {
        p.first_pts_ms[i] = av_rescale_q(pkt->pts, in->streams[i]->time_base, AVRational{1, 1000});
      }
      if (in->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !seen_video) {
        seen_video = true;
        p.first_video_key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      }
      av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    if (in->duration > 0) p.duration_s = double(in->duration) / AV_TIME_BASE;
    avformat_close_input(&in);
  }
  fs::remove(path);
  return p;
}

bool contains(const Bytes& b, std::string_view s) {
  return std::search(b.begin(), b.end(), s.begin(), s.end()) != b.end();
}

std::string box_type(const Bytes& b) {
  return b.size() >= 8 ? std::string(b.begin() + 4, b.begin() + 8) : "";
}

class Fmp4MuxerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clip_ = load_clip();
    ASSERT_EQ(clip_.tracks.size(), 2u);
    ASSERT_EQ(clip_.frames.size(), 240u);  // 90 video, 150 audio
  }
  Clip clip_;
};

TEST_F(Fmp4MuxerTest, InitSegmentHasAvcCAndDOps) {
  auto m = Fmp4Muxer::open(clip_.tracks);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const Bytes& init = (*m)->init_segment();
  EXPECT_EQ(box_type(init), "ftyp");
  EXPECT_TRUE(contains(init, "moov"));
  EXPECT_TRUE(contains(init, "avcC"));
  EXPECT_TRUE(contains(init, "dOps"));
  EXPECT_TRUE(contains(init, "cmfc"));
  EXPECT_TRUE(contains(init, "mvex"));
}

TEST_F(Fmp4MuxerTest, PartsAndSegmentsOfARealStream) {
  Fmp4Options opts;
  opts.part_target_ms = 300;
  opts.segment_target_ms = 2000;
  auto m = Fmp4Muxer::open(clip_.tracks, opts);
  ASSERT_TRUE(m.ok()) << m.error().message;
  std::vector<Fmp4Part> parts;
  const auto frames = looped(clip_, 3);  // 9 s, keyframes every 1.5 s
  for (const auto& f : frames) {
    ASSERT_TRUE((*m)->write(f.track, f.data, f.pts_ms, f.keyframe, parts).ok());
  }
  ASSERT_TRUE((*m)->finish(parts).ok());
  // The clip's first Opus frame is at -7 ms, before the first keyframe: the
  // stream starts without it.
  const auto audio = std::count_if(frames.begin(), frames.end(),
                                   [](const auto& f) { return f.track == 1 && f.pts_ms >= 0; });
  EXPECT_EQ(audio, 449);
  EXPECT_EQ((*m)->frames_written(), 270u + uint64_t(audio));
  ASSERT_FALSE(parts.empty());

  // A 2 s target with a 1.5 s GOP: waiting for the keyframe after 2 s would
  // make 3 s segments, past what TARGETDURATION 2 allows (2.4 s); each
  // keyframe starts one.
  std::vector<int64_t> segment_starts;
  int64_t total_ms = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Fmp4Part& p = parts[i];
    SCOPED_TRACE("part " + std::to_string(i));
    EXPECT_EQ(box_type(p.data), "moof");
    EXPECT_EQ(p.start_ms, total_ms);
    total_ms += p.duration_ms;
    EXPECT_LE(p.duration_ms, opts.part_target_ms);
    if (p.index == 0) {
      segment_starts.push_back(p.start_ms);
      EXPECT_TRUE(p.independent);
    }
    if (i > 0) {
      EXPECT_EQ(p.msn, parts[i - 1].msn + (p.index == 0 ? 1 : 0));
      // All but a segment's last part are at least 85 % of the target.
      if (p.index != 0) {
        EXPECT_GE(parts[i - 1].duration_ms, opts.part_target_ms * 85 / 100);
      }
    }
    // A part flagged independent starts with a keyframe on its own.
    if (p.independent) {
      Bytes alone = (*m)->init_segment();
      alone.insert(alone.end(), p.data.begin(), p.data.end());
      Probe pp = probe_bytes(alone);
      ASSERT_TRUE(pp.opened);
      EXPECT_TRUE(pp.first_video_key);
    }
  }
  EXPECT_EQ(segment_starts, (std::vector<int64_t>{0, 1500, 3000, 4500, 6000, 7500}));
  EXPECT_NEAR(double(total_ms), 9000, 40);

  // init + every part is one playable fragmented MP4 with every frame.
  Bytes all = (*m)->init_segment();
  for (const auto& p : parts) all.insert(all.end(), p.data.begin(), p.data.end());
  Probe probe = probe_bytes(all);
  ASSERT_TRUE(probe.opened);
  ASSERT_EQ(probe.codecs.size(), 2u);
  EXPECT_EQ(probe.codecs[0], AV_CODEC_ID_H264);
  EXPECT_EQ(probe.codecs[1], AV_CODEC_ID_OPUS);
  EXPECT_EQ(probe.width, 640);
  EXPECT_EQ(probe.packets[0], 270);
  EXPECT_EQ(probe.packets[1], audio);
  EXPECT_EQ(probe.first_pts_ms[0], 0);
  EXPECT_NEAR(probe.duration_s, 9.0, 0.1);
}

TEST_F(Fmp4MuxerTest, SegmentsAreCutInTimeWithoutKeyframes) {
  // Only the very first frame is a keyframe (a WebRTC encoder nobody asked
  // for another one). Segments must still end by 2.4 s.
  auto m = Fmp4Muxer::open(clip_.tracks);
  ASSERT_TRUE(m.ok());
  std::vector<Fmp4Part> parts;
  bool first = true;
  for (const auto& f : looped(clip_, 2)) {
    const bool key = f.track == 0 && f.keyframe && first;
    if (key) first = false;
    ASSERT_TRUE((*m)->write(f.track, f.data, f.pts_ms, key, parts).ok());
  }
  ASSERT_TRUE((*m)->finish(parts).ok());
  std::vector<int64_t> durations;
  for (const auto& p : parts) {
    if (p.index == 0) durations.push_back(0);
    durations.back() += p.duration_ms;
    EXPECT_EQ(p.independent, p.msn == 0 && p.index == 0);
  }
  ASSERT_GE(durations.size(), 3u);
  for (int64_t d : durations) EXPECT_LE(d, max_segment_ms(2000));
  EXPECT_GE(durations[0], 2000);
}

TEST_F(Fmp4MuxerTest, FramesBeforeTheFirstKeyframeAreDropped) {
  auto m = Fmp4Muxer::open(clip_.tracks);
  ASSERT_TRUE(m.ok());
  std::vector<Fmp4Part> parts;
  // Start mid-GOP: from frame 10 of the video (no keyframe until 1.5 s).
  size_t video_seen = 0;
  for (const auto& f : clip_.frames) {
    if (f.track == 0 && video_seen++ < 10) continue;
    ASSERT_TRUE((*m)->write(f.track, f.data, f.pts_ms, f.keyframe, parts).ok());
  }
  ASSERT_TRUE((*m)->finish(parts).ok());
  ASSERT_FALSE(parts.empty());
  EXPECT_TRUE(parts[0].independent);
  Bytes all = (*m)->init_segment();
  for (const auto& p : parts) all.insert(all.end(), p.data.begin(), p.data.end());
  Probe probe = probe_bytes(all);
  ASSERT_TRUE(probe.opened);
  EXPECT_EQ(probe.packets[0], 45);  // from the keyframe at 1.5 s
  EXPECT_TRUE(probe.first_video_key);
}

TEST_F(Fmp4MuxerTest, RefusesWhatHlsCannotCarry) {
  EXPECT_FALSE(Fmp4Muxer::open({{true, "VP8", 640, 480, {}}}).ok());
  EXPECT_FALSE(Fmp4Muxer::open({{true, "H264", 640, 480, {}}}).ok());  // no SPS/PPS
  EXPECT_FALSE(Fmp4Muxer::open({{false, "AAC", 0, 0, {}}}).ok());      // no ASC
  EXPECT_FALSE(Fmp4Muxer::open({}).ok());
}

TEST_F(Fmp4MuxerTest, AudioOnlyAac) {
  // AAC-LC 44.1 kHz stereo: 0x12 0x10.
  auto m = Fmp4Muxer::open({{false, "AAC", 0, 0, {0x12, 0x10}}});
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(contains((*m)->init_segment(), "esds"));
  std::vector<Fmp4Part> parts;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE((*m)->write(0, Bytes(200, uint8_t(i)), i * 23, true, parts).ok());
  }
  ASSERT_TRUE((*m)->finish(parts).ok());
  ASSERT_GE(parts.size(), 7u);
  for (const auto& p : parts) EXPECT_TRUE(p.independent);
}

TEST_F(Fmp4MuxerTest, DimensionsComeFromTheSps) {
  int w = 0, h = 0;
  ASSERT_TRUE(h264_dimensions(clip_.tracks[0].extradata, w, h));
  EXPECT_EQ(w, 640);
  EXPECT_EQ(h, 360);
  EXPECT_FALSE(h264_dimensions(Bytes{0, 0, 0, 1, 0x68, 0xce}, w, h));  // a PPS alone
  auto tracks = clip_.tracks;
  tracks[0].width = 640;  // the recorder's default when it does not know
  tracks[0].height = 480;
  auto m = Fmp4Muxer::open(tracks);
  ASSERT_TRUE(m.ok());
  std::vector<Fmp4Part> parts;
  for (const auto& f : clip_.frames) {
    ASSERT_TRUE((*m)->write(f.track, f.data, f.pts_ms, f.keyframe, parts).ok());
  }
  ASSERT_TRUE((*m)->finish(parts).ok());
  Bytes all = (*m)->init_segment();
  for (const auto& p : parts) all.insert(all.end(), p.data.begin(), p.data.end());
  // The container says 640x360 (avc1 and tkhd), not what the spec said.
  const Probe probe = probe_bytes(all);
  ASSERT_TRUE(probe.opened);
  EXPECT_EQ(probe.width, 640);
  EXPECT_EQ(probe.height, 360);
}

TEST(AudioSpecificConfig, Parses) {
  int rate = 0, channels = 0;
  EXPECT_TRUE(parse_audio_specific_config(Bytes{0x12, 0x10}, rate, channels));
  EXPECT_EQ(rate, 44100);
  EXPECT_EQ(channels, 2);
  EXPECT_TRUE(parse_audio_specific_config(Bytes{0x11, 0x88}, rate, channels));
  EXPECT_EQ(rate, 48000);
  EXPECT_EQ(channels, 1);
  EXPECT_FALSE(parse_audio_specific_config(Bytes{0x12}, rate, channels));
}

}  // namespace
}  // namespace lss::hls
