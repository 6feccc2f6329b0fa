#include "media_source.hpp"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/mathematics.h>
}

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/random.hpp"
#include "h264_packetizer.hpp"

namespace lss::load {

namespace {

double track_kbps(const Track& t) {
  if (t.period_us <= 0) return 0;
  size_t bytes = 0;
  for (const auto& f : t.frames) bytes += f.size();
  return double(bytes) * 8.0 / double(t.period_us) * 1000.0;
}

// Loop length: the last frame lasts as long as the average frame.
void finish_track(Track& t) {
  if (t.frames.empty()) return;
  std::stable_sort(t.frames.begin(), t.frames.end(),
                   [](const MediaFrame& a, const MediaFrame& b) { return a.pts_us < b.pts_us; });
  const int64_t first = t.frames.front().pts_us;
  for (auto& f : t.frames) f.pts_us -= first;
  const int64_t last = t.frames.back().pts_us;
  const int64_t step = t.frames.size() > 1 ? last / int64_t(t.frames.size() - 1) : 20000;
  t.period_us = last + std::max<int64_t>(step, 1000);
}

struct CloseInput {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct FreePacket {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

}  // namespace

size_t MediaFrame::size() const {
  size_t n = data.size();
  for (const auto& nal : nals) n += nal.size();
  return n;
}

double Clip::video_kbps() const {
  return track_kbps(video);
}
double Clip::audio_kbps() const {
  return track_kbps(audio);
}

Result<Clip> load_clip(const std::string& path) {
  AVFormatContext* raw = nullptr;
  if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) < 0)
    return make_error("cannot open " + path);
  std::unique_ptr<AVFormatContext, CloseInput> fmt(raw);
  if (avformat_find_stream_info(fmt.get(), nullptr) < 0)
    return make_error("cannot read streams of " + path);
  int vi = -1, ai = -1;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVCodecID id = fmt->streams[i]->codecpar->codec_id;
    if ((id == AV_CODEC_ID_VP8 || id == AV_CODEC_ID_H264) && vi < 0) vi = int(i);
    if (id == AV_CODEC_ID_OPUS && ai < 0) ai = int(i);
  }
  if (vi < 0 || ai < 0) return make_error(path + " needs a VP8 or H264 and an Opus stream");
  Clip clip;
  clip.source = path;
  AvcConfig avc;
  const AVCodecParameters* vpar = fmt->streams[vi]->codecpar;
  if (vpar->codec_id == AV_CODEC_ID_H264) {
    clip.video_codec = codec::VideoCodec::kH264;
    auto parsed = parse_avcc(ByteSpan(vpar->extradata, size_t(std::max(vpar->extradata_size, 0))));
    if (!parsed.ok()) return make_error(path + ": " + parsed.error().message);
    avc = std::move(parsed).value();
  }
  std::unique_ptr<AVPacket, FreePacket> pkt(av_packet_alloc());
  if (!pkt) return make_error("out of memory");
  while (av_read_frame(fmt.get(), pkt.get()) >= 0) {
    const bool video = pkt->stream_index == vi;
    if (video || pkt->stream_index == ai) {
      const AVStream* st = fmt->streams[pkt->stream_index];
      const int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      MediaFrame f;
      f.pts_us = av_rescale_q(pts, st->time_base, AVRational{1, 1000000});
      f.keyframe = pkt->flags & AV_PKT_FLAG_KEY;
      if (video && clip.video_codec == codec::VideoCodec::kH264) {
        auto au = avcc_access_unit(ByteSpan(pkt->data, size_t(pkt->size)), avc);
        if (!au.ok())
          return make_error(path + ": video frame " + std::to_string(clip.video.frames.size()) +
                            ": " + au.error().message);
        f.keyframe = au->idr;  // what a joining decoder needs, whatever the container says
        f.nals = std::move(au->nals);
      } else {
        f.data.assign(pkt->data, pkt->data + pkt->size);
      }
      (video ? clip.video : clip.audio).frames.push_back(std::move(f));
    }
    av_packet_unref(pkt.get());
  }
  finish_track(clip.video);
  finish_track(clip.audio);
  if (clip.video.frames.empty() || clip.audio.frames.empty())
    return make_error(path + " has no video or no Opus frames");
  if (!clip.video.frames.front().keyframe)
    return make_error(path + ": the first video frame is not a keyframe");
  return clip;
}

Clip synthesize_clip() {
  Clip clip;
  clip.source = "synthetic";
  constexpr int kFrames = 90, kGop = 45;
  constexpr size_t kInterBytes = 3600, kKeyBytes = 16000;  // ~1 Mbit/s at 30 fps
  for (int i = 0; i < kFrames; ++i) {
    MediaFrame f;
    f.pts_us = int64_t(i) * 1000000 / 30;
    f.keyframe = i % kGop == 0;
    f.data.assign(f.keyframe ? kKeyBytes : kInterBytes, 0);
    // RFC 6386 §9.1 frame tag: key_frame (0 = key), version 0, show_frame 1,
    // first_part_size (19 bits); keyframes add the start code and size.
    const uint32_t first_part = 256;
    const uint32_t tag = (f.keyframe ? 0u : 1u) | (1u << 4) | (first_part << 5);
    f.data[0] = uint8_t(tag);
    f.data[1] = uint8_t(tag >> 8);
    f.data[2] = uint8_t(tag >> 16);
    if (f.keyframe) {
      const uint8_t hdr[7] = {0x9d, 0x01, 0x2a, 640 & 0xff, 640 >> 8, 360 & 0xff, 360 >> 8};
      std::copy(hdr, hdr + 7, f.data.begin() + 3);
    }
    for (size_t k = 10; k < f.data.size(); ++k) f.data[k] = uint8_t(k * 131 + i);
    clip.video.frames.push_back(std::move(f));
  }
  for (int i = 0; i < 150; ++i) {
    MediaFrame f;
    f.pts_us = int64_t(i) * 20000;
    f.keyframe = true;
    // TOC 0xfc: config 31 (CELT fullband 20 ms), stereo, one frame; 160 bytes = 64 kbps.
    f.data.assign(160, 0);
    f.data[0] = 0xfc;
    for (size_t k = 1; k < f.data.size(); ++k) f.data[k] = uint8_t(k * 29 + i);
    clip.audio.frames.push_back(std::move(f));
  }
  finish_track(clip.video);
  finish_track(clip.audio);
  return clip;
}

void scale_video_bitrate(Clip& clip, double kbps) {
  const double now = clip.video_kbps();
  if (now <= 0 || kbps <= 0) return;
  const double factor = kbps / now;
  if (clip.video_codec == codec::VideoCodec::kH264) {
    if (factor <= 1) return;  // cut slices would not decode: H264 is never cut
    for (auto& f : clip.video.frames) {
      const size_t extra = size_t(double(f.size()) * (factor - 1) + 0.5);
      if (extra >= 2) f.nals.push_back(h264_filler_nal(extra));  // 2: the smallest filler NAL
    }
    return;
  }
  for (auto& f : clip.video.frames) {
    // Keep the frame header whole: 10 bytes on keyframes, 3 on interframes.
    const size_t floor = f.keyframe ? 10 : 3;
    const size_t want = std::max(floor, size_t(double(f.data.size()) * factor + 0.5));
    f.data.resize(want, 0);
  }
}

uint32_t abs_send_time(Timestamp t) {
  const uint64_t ns =
      uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  const uint64_t sec = ns / 1000000000ull, frac = ns % 1000000000ull;
  return uint32_t(((sec << 18) | ((frac << 18) / 1000000000ull)) & 0xffffff);
}

int64_t abs_send_time_age_us(uint32_t sent, Timestamp now) {
  const uint32_t diff = (abs_send_time(now) - sent) & 0xffffff;
  // More than half the 64 s range: a stamp slightly ahead of `now` (a server
  // that re-stamps abs-send-time itself, rounded up), not a 32 s delay.
  if (diff >= 0x800000) return 0;
  return int64_t((uint64_t(diff) * 1000000ull) >> 18);
}

MediaSender::MediaSender(const Clip& clip, SenderConfig config) : clip_(clip), cfg_(config) {
  video_.clock = 90000;
  audio_.clock = 48000;
  video_.ts_base = random_u32();
  audio_.ts_base = random_u32();
  video_.seq = uint16_t(random_u32());
  audio_.seq = uint16_t(random_u32());
  picture_id_ = uint16_t(random_u32() & 0x7fff);
}

size_t MediaSender::write_header(uint8_t* p, bool video, bool marker, uint32_t ts, Timestamp now) {
  Cursor& c = video ? video_ : audio_;
  p[0] = 0x90;  // V=2, X=1: one RFC 8285 one-byte extension follows
  p[1] = uint8_t((video ? cfg_.video_pt : cfg_.audio_pt) | (marker ? 0x80 : 0));
  store_be16(p + 2, c.seq++);
  store_be32(p + 4, ts);
  store_be32(p + 8, video ? cfg_.video_ssrc : cfg_.audio_ssrc);
  p[12] = 0xbe;
  p[13] = 0xde;
  store_be16(p + 14, 1);                            // one 32-bit word of elements
  p[16] = uint8_t(cfg_.abs_send_time_id << 4 | 2);  // id, length - 1
  store_be24(p + 17, abs_send_time(now));
  return kHeaderSize;
}

void MediaSender::emit_video(size_t len, const Emit& emit) {
  ++video_packets;
  video_bytes += len;
  emit(buf_, len, true);
}

void MediaSender::send_vp8(const MediaFrame& f, uint32_t ts, Timestamp now, const Emit& emit) {
  // RFC 7741 descriptor with a 15-bit PictureID, as browsers send it:
  // X=1, S=1 on the first packet, PID=0; then I=1; then M=1 + PictureID.
  constexpr size_t kDescriptor = 4;
  const size_t room = cfg_.max_payload - kDescriptor;
  const size_t size = f.data.size();
  const size_t packets = (size + room - 1) / room;
  const size_t chunk = (size + packets - 1) / packets;  // even split, no runt last packet
  const uint16_t pid = picture_id_;
  picture_id_ = uint16_t((picture_id_ + 1) & 0x7fff);
  for (size_t off = 0, i = 0; off < size; off += chunk, ++i) {
    const size_t n = std::min(chunk, size - off);
    const bool last = off + n >= size;
    size_t len = write_header(buf_, true, last, ts, now);
    buf_[len++] = uint8_t(0x80 | (i == 0 ? 0x10 : 0));
    buf_[len++] = 0x80;
    buf_[len++] = uint8_t(0x80 | (pid >> 8));
    buf_[len++] = uint8_t(pid);
    std::memcpy(buf_ + len, f.data.data() + off, n);
    len += n;
    emit_video(len, emit);
  }
}

void MediaSender::send_h264(const MediaFrame& f, uint32_t ts, Timestamp now, const Emit& emit) {
  // The payload goes in first: the marker (last packet of the access unit)
  // is known only once the packetizer has written it.
  H264Packetizer packetizer(f.nals, cfg_.max_payload);
  while (!packetizer.done()) {
    const size_t n = packetizer.next(buf_ + kHeaderSize);
    emit_video(write_header(buf_, true, packetizer.done(), ts, now) + n, emit);
  }
}

void MediaSender::send_video_frame(const MediaFrame& f, uint32_t ts, Timestamp now,
                                   const Emit& emit) {
  if (clip_.video_codec == codec::VideoCodec::kH264) {
    send_h264(f, ts, now, emit);
  } else {
    send_vp8(f, ts, now, emit);
  }
  ++video_frames;
  if (f.keyframe) ++keyframes, last_keyframe_ = now;
}

void MediaSender::poll(Timestamp now, const Emit& emit) {
  if (!started_) {
    started_ = true;
    start_ = now;
  }
  const int64_t elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(now - start_).count();
  // Video: a frame is due at loop_base + pts; the clip restarts after its period.
  for (;;) {
    const Track& t = clip_.video;
    if (t.frames.empty()) break;
    if (keyframe_wanted_ && !t.frames[video_.index].keyframe) {
      // Jump to the clip's first frame (a keyframe) in this slot: timestamps
      // stay continuous, only the picture changes, as with a real encoder.
      video_.loop_base_us += t.frames[video_.index].pts_us - t.frames[0].pts_us;
      video_.index = 0;
    }
    const MediaFrame& f = t.frames[video_.index];
    const int64_t due = video_.loop_base_us + f.pts_us;
    if (due > elapsed) break;
    keyframe_wanted_ = false;
    const uint32_t ts = video_.ts_base + uint32_t(due * int64_t(video_.clock) / 1000000);
    send_video_frame(f, ts, now, emit);
    if (++video_.index == t.frames.size()) {
      video_.index = 0;
      video_.loop_base_us += t.period_us;
    }
  }
  for (;;) {
    const Track& t = clip_.audio;
    if (t.frames.empty()) break;
    const MediaFrame& f = t.frames[audio_.index];
    const int64_t due = audio_.loop_base_us + f.pts_us;
    if (due > elapsed) break;
    const uint32_t ts = audio_.ts_base + uint32_t(due * int64_t(audio_.clock) / 1000000);
    size_t len = write_header(buf_, false, false, ts, now);
    const size_t n = std::min(f.data.size(), sizeof buf_ - len - 32);
    std::memcpy(buf_ + len, f.data.data(), n);
    len += n;
    ++audio_packets;
    audio_bytes += len;
    emit(buf_, len, false);
    if (++audio_.index == t.frames.size()) {
      audio_.index = 0;
      audio_.loop_base_us += t.period_us;
    }
  }
}

void MediaSender::request_keyframe(Timestamp now) {
  ++keyframe_requests;
  // Like a browser's encoder, ignore requests right after a keyframe went out.
  if (keyframes && now - last_keyframe_ < std::chrono::milliseconds(300)) return;
  keyframe_wanted_ = true;
}

uint32_t MediaSender::rtp_time(bool video, Timestamp now) const {
  const Cursor& c = video ? video_ : audio_;
  const int64_t elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(now - start_).count();
  return c.ts_base + uint32_t(elapsed * int64_t(c.clock) / 1000000);
}

}  // namespace lss::load
