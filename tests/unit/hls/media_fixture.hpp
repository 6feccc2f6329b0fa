#pragma once
// Real frames for the HLS tests: tests/data/media/clip-h264.mkv (3 s of
// 30 fps H264 Constrained Baseline, a keyframe every 1.5 s, and 48 kHz Opus
// in 20 ms frames) read with libavformat, the H264 turned into Annex B with
// SPS and PPS in front of each IDR frame, as the recorder hands them over.
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "record/clip_writer.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
}

namespace lss::hls::testing {

struct Frame {
  size_t track = 0;  // 0 video, 1 audio
  Bytes data;
  int64_t pts_ms = 0;
  bool keyframe = false;
};

struct Clip {
  std::vector<record::TrackSpec> tracks;  // H264 (Annex B SPS+PPS), opus
  std::vector<Frame> frames;              // in file order
  int64_t duration_ms = 3000;
};

// AVCC extradata (avcC record) -> Annex B SPS+PPS.
inline Bytes avcc_to_annexb(const uint8_t* p, int size) {
  Bytes out;
  if (size < 7) return out;
  int i = 5;
  for (int kind = 0; kind < 2 && i < size; ++kind) {
    int count = kind == 0 ? (p[i++] & 0x1f) : p[i++];
    for (int n = 0; n < count && i + 2 <= size; ++n) {
      const int len = p[i] << 8 | p[i + 1];
      i += 2;
      if (i + len > size) return out;
      out.insert(out.end(), {0, 0, 0, 1});
      out.insert(out.end(), p + i, p + i + len);
      i += len;
    }
  }
  return out;
}

inline Clip load_clip() {
  Clip clip;
  const std::string path = std::string(LSS_TEST_DATA_DIR) + "/media/clip-h264.mkv";
  AVFormatContext* in = nullptr;
  if (avformat_open_input(&in, path.c_str(), nullptr, nullptr) < 0) return clip;
  avformat_find_stream_info(in, nullptr);
  int video = -1, audio = -1;
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    const AVCodecParameters* par = in->streams[i]->codecpar;
    if (par->codec_id == AV_CODEC_ID_H264 && video < 0) {
      video = int(i);
      clip.tracks.push_back({true, "H264", par->width, par->height,
                             avcc_to_annexb(par->extradata, par->extradata_size)});
    }
  }
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    const AVCodecParameters* par = in->streams[i]->codecpar;
    if (par->codec_id == AV_CODEC_ID_OPUS && audio < 0) {
      audio = int(i);
      clip.tracks.push_back({false, "opus", 0, 0, {}});
    }
  }
  const AVBitStreamFilter* f = av_bsf_get_by_name("h264_mp4toannexb");
  AVBSFContext* bsf = nullptr;
  av_bsf_alloc(f, &bsf);
  avcodec_parameters_copy(bsf->par_in, in->streams[video]->codecpar);
  bsf->time_base_in = in->streams[video]->time_base;
  av_bsf_init(bsf);
  AVPacket* pkt = av_packet_alloc();
  auto to_ms = [&](const AVPacket* p, int stream) {
    return av_rescale_q(p->pts, in->streams[stream]->time_base, AVRational{1, 1000});
  };
  while (av_read_frame(in, pkt) >= 0) {
    if (pkt->stream_index == video) {
      av_bsf_send_packet(bsf, pkt);
      while (av_bsf_receive_packet(bsf, pkt) == 0) {
        clip.frames.push_back({0, Bytes(pkt->data, pkt->data + pkt->size), to_ms(pkt, video),
                               (pkt->flags & AV_PKT_FLAG_KEY) != 0});
        av_packet_unref(pkt);
      }
    } else if (pkt->stream_index == audio) {
      clip.frames.push_back({1, Bytes(pkt->data, pkt->data + pkt->size), to_ms(pkt, audio), true});
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  av_bsf_free(&bsf);
  avformat_close_input(&in);
  return clip;
}

// The clip `loops` times in a row (times shifted), as a live source would.
inline std::vector<Frame> looped(const Clip& clip, int loops) {
  std::vector<Frame> out;
  for (int l = 0; l < loops; ++l) {
    for (Frame f : clip.frames) {
      f.pts_ms += l * clip.duration_ms;
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace lss::hls::testing
