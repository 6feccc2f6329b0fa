#include "record/clip_writer.hpp"

#include <gtest/gtest.h>

extern "C" {
#include <libavformat/avformat.h>
}

#include <filesystem>

namespace lss::record {
namespace {

namespace fs = std::filesystem;

struct Probe {
  std::vector<int64_t> packets;  // per stream
  std::vector<AVCodecID> codecs;
  int width = 0;
  double duration_s = 0;
};

Probe probe(const std::string& path) {
  Probe p;
  AVFormatContext* in = nullptr;
  if (avformat_open_input(&in, path.c_str(), nullptr, nullptr) < 0) return p;
  avformat_find_stream_info(in, nullptr);
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    p.codecs.push_back(in->streams[i]->codecpar->codec_id);
    if (in->streams[i]->codecpar->width) p.width = in->streams[i]->codecpar->width;
  }
  p.packets.assign(in->nb_streams, 0);
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(in, pkt) >= 0) {
    p.packets[size_t(pkt->stream_index)]++;
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  if (in->duration > 0) p.duration_s = double(in->duration) / AV_TIME_BASE;
  avformat_close_input(&in);
  return p;
}

class ClipWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lss_clip_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ClipWriterTest, WritesWebmWithVideoAndOpus) {
  std::vector<TrackSpec> tracks = {{true, "VP8", 640, 480, {}}, {false, "opus", 0, 0, {}}};
  EXPECT_EQ(container_extension(tracks), ".webm");
  const std::string path = (dir_ / "a.webm").string();
  auto w = ClipWriter::open(path, tracks);
  ASSERT_TRUE(w.ok()) << w.error().message;
  const Bytes frame(500, 0x42);
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE((*w)->write(0, frame, i * 33, i % 30 == 0).ok());
    ASSERT_TRUE((*w)->write(1, Bytes{0xf8, 0xff, 0xfe}, i * 20, true).ok());  // an Opus DTX frame
  }
  EXPECT_GT((*w)->bytes_written(), 0u);
  EXPECT_EQ((*w)->frames(0), 60u);
  EXPECT_EQ((*w)->duration_ms(), 59 * 33);
  ASSERT_TRUE((*w)->finish().ok());
  Probe p = probe(path);
  ASSERT_EQ(p.codecs.size(), 2u);
  EXPECT_EQ(p.codecs[0], AV_CODEC_ID_VP8);
  EXPECT_EQ(p.codecs[1], AV_CODEC_ID_OPUS);
  EXPECT_EQ(p.width, 640);
  EXPECT_EQ(p.packets[0], 60);
  EXPECT_EQ(p.packets[1], 60);
  EXPECT_NEAR(p.duration_s, 1.95, 0.1);
}

TEST_F(ClipWriterTest, H264GoesToMatroska) {
  const Bytes sps_pps = {0,    0,    0,    1,    0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x3d,
                         0xa1, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x8f,
                         0x14, 0x2a, 0x48, 0,    0,    0,    1,    0x68, 0xcb, 0x83, 0xcb, 0x20};
  std::vector<TrackSpec> tracks = {{true, "H264", 640, 480, sps_pps}};
  EXPECT_EQ(container_extension(tracks), ".mkv");
  const std::string path = (dir_ / "b.mkv").string();
  auto w = ClipWriter::open(path, tracks);
  ASSERT_TRUE(w.ok()) << w.error().message;
  Bytes idr = {0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x10};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*w)->write(0, idr, i * 33, true).ok());
  ASSERT_TRUE((*w)->finish().ok());
  Probe p = probe(path);
  ASSERT_EQ(p.codecs.size(), 1u);
  EXPECT_EQ(p.codecs[0], AV_CODEC_ID_H264);
  EXPECT_EQ(p.packets[0], 10);
}

TEST_F(ClipWriterTest, AHalfWrittenClipIsRecoveredByRemux) {
  const std::string path = (dir_ / "c.webm").string();
  {
    auto w = ClipWriter::open(path, {{true, "VP8", 320, 240, {}}});
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 300; ++i)
      ASSERT_TRUE((*w)->write(0, Bytes(2000, uint8_t(i)), i * 33, i % 30 == 0).ok());
    ASSERT_TRUE((*w)->finish().ok());
  }
  // Chop the end off, as a kill mid-write would.
  fs::resize_file(path, fs::file_size(path) * 2 / 3);
  const std::string fixed = (dir_ / "c.fixed.webm").string();
  ASSERT_TRUE(remux_clip(path, fixed).ok());
  Probe p = probe(fixed);
  ASSERT_EQ(p.codecs.size(), 1u);
  EXPECT_GT(p.packets[0], 150);
  EXPECT_LT(p.packets[0], 300);
  EXPECT_GT(p.duration_s, 4.0);
}

TEST_F(ClipWriterTest, AFullDiskIsAClearError) {
  // /dev/full fails every write with ENOSPC, like a full disk.
  auto w = ClipWriter::open("/dev/full", {{true, "VP8", 320, 240, {}}});
  if (w.ok()) {
    lss::Status st;
    for (int i = 0; i < 200 && st.ok(); ++i) st = (*w)->write(0, Bytes(4000, 1), i * 33, true);
    if (st.ok()) st = (*w)->finish();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("No space left"), std::string::npos) << st.message();
  } else {
    EXPECT_NE(w.error().message.find("No space left"), std::string::npos) << w.error().message;
  }
}

TEST_F(ClipWriterTest, UnknownCodecAndUnwritablePathAreErrors) {
  EXPECT_FALSE(ClipWriter::open((dir_ / "x.webm").string(), {{true, "MPEG2", 1, 1, {}}}).ok());
  EXPECT_FALSE(ClipWriter::open("/nonexistent-dir/x.webm", {{false, "opus", 0, 0, {}}}).ok());
  EXPECT_EQ(opus_head().size(), 19u);
}

}  // namespace
}  // namespace lss::record
