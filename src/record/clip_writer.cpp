#include "record/clip_writer.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/ascii_case.hpp"
#include "common/durable_file.hpp"
#include "record/libav_support.hpp"

namespace lss::record {

namespace {
// libavformat's own chatter (warnings about our test frames, probing) is not
// ours to print; real failures come back as errors.
void quiet_libav() {
  static const bool done = [] {
    av_log_set_level(AV_LOG_FATAL);
    return true;
  }();
  (void)done;
}

AVCodecID codec_id(const std::string& name) {
  const std::string n = to_upper_ascii(name);
  if (n == "VP8") return AV_CODEC_ID_VP8;
  if (n == "VP9") return AV_CODEC_ID_VP9;
  if (n == "H264") return AV_CODEC_ID_H264;
  if (n == "AV1") return AV_CODEC_ID_AV1;
  if (n == "OPUS") return AV_CODEC_ID_OPUS;
  return AV_CODEC_ID_NONE;
}

// fdatasync(2), but a file that cannot be synced (a device such as
// /dev/full in the tests) is no error.
lss::Status sync_fd(FileIo& io, int fd, const std::string& path) {
  if (fd < 0) return {};
  const int err = io.sync(fd);
  if (err == 0 || err == EINVAL || err == EROFS) return {};
  return make_error("cannot sync " + path + ": " + std::strerror(err));
}

constexpr int kAvioBufferSize = 32 * 1024;
}  // namespace

Bytes opus_head(int channels, int sample_rate, int pre_skip) {
  Bytes h = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, uint8_t(channels)};
  h.push_back(uint8_t(pre_skip));
  h.push_back(uint8_t(pre_skip >> 8));
  for (int i = 0; i < 4; ++i) h.push_back(uint8_t(uint32_t(sample_rate) >> (8 * i)));
  h.push_back(0);  // output gain
  h.push_back(0);
  h.push_back(0);  // channel mapping family 0
  return h;
}

std::string container_extension(const std::vector<TrackSpec>& tracks) {
  for (const auto& t : tracks) {
    if (to_upper_ascii(t.codec) == "H264") return ".mkv";
  }
  return ".webm";
}

int ClipWriter::avio_write(void* self, const uint8_t* data, int size) {
  auto* w = static_cast<ClipWriter*>(self);
  const int err = w->io_->write(w->fd_, data, size_t(size));
  return err ? AVERROR(err) : size;
}

int64_t ClipWriter::avio_seek(void* self, int64_t offset, int whence) {
  auto* w = static_cast<ClipWriter*>(self);
  if (whence & AVSEEK_SIZE) {
    struct stat st {};
    return ::fstat(w->fd_, &st) == 0 ? int64_t(st.st_size) : AVERROR(errno);
  }
  const off_t at = ::lseek(w->fd_, off_t(offset), whence & ~AVSEEK_FORCE);
  return at < 0 ? AVERROR(errno) : int64_t(at);
}

Result<std::unique_ptr<ClipWriter>> ClipWriter::open(const std::string& path,
                                                     const std::vector<TrackSpec>& tracks,
                                                     FileIo& io) {
  quiet_libav();
  std::unique_ptr<ClipWriter> w(new ClipWriter());
  w->path_ = path;
  w->io_ = &io;
  const bool webm = container_extension(tracks) == ".webm";
  int rc =
      avformat_alloc_output_context2(&w->ctx_, nullptr, webm ? "webm" : "matroska", path.c_str());
  if (rc < 0 || !w->ctx_) return make_error("cannot create a muxer: " + av_error(rc));
  for (const auto& t : tracks) {
    AVStream* st = avformat_new_stream(w->ctx_, nullptr);
    if (!st) return make_error("cannot add a stream");
    AVCodecParameters* par = st->codecpar;
    par->codec_id = codec_id(t.codec);
    if (par->codec_id == AV_CODEC_ID_NONE) return make_error("cannot record codec " + t.codec);
    if (t.video) {
      par->codec_type = AVMEDIA_TYPE_VIDEO;
      par->width = t.width;
      par->height = t.height;
      st->time_base = {1, 1000};
    } else {
      par->codec_type = AVMEDIA_TYPE_AUDIO;
      par->sample_rate = 48000;
      av_channel_layout_default(&par->ch_layout, 2);
      st->time_base = {1, 48000};
    }
    Bytes extra = t.extradata;
    if (par->codec_id == AV_CODEC_ID_OPUS && extra.empty()) extra = opus_head();
    if (auto s = set_extradata(par, extra); !s) return make_error(s.message());
  }
  w->frames_.assign(tracks.size(), 0);
  w->last_track_pts_.assign(tracks.size(), INT64_MIN);
  w->pkt_ = av_packet_alloc();
  if (!w->pkt_) return make_error("out of memory");
  w->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w->fd_ < 0) return make_error("cannot open " + path + ": " + std::strerror(errno));
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferSize));
  // AVIO over our descriptor (not avio_open) so the bytes pass through io.
  auto write_cb = [](void* self, AvioBytes data, int size) { return avio_write(self, data, size); };
  if (buffer) {
    w->pb_ = avio_alloc_context(buffer, kAvioBufferSize, 1, w.get(), nullptr, write_cb,
                                &ClipWriter::avio_seek);
  }
  if (!w->pb_) {
    av_free(buffer);
    return make_error("out of memory");
  }
  w->ctx_->pb = w->pb_;
  // The muxer builds each cluster in memory and hands it to AVIO whole: cut
  // them short, and have AVIO write each one out at once rather than when
  // its 32 KiB buffer fills (an empty buffer costs no system call).
  w->ctx_->flush_packets = 1;
  AVDictionary* options = nullptr;
  av_dict_set_int(&options, "cluster_time_limit", kClusterMs, 0);
  rc = avformat_write_header(w->ctx_, &options);
  const bool ignored = av_dict_count(options) > 0;
  av_dict_free(&options);
  if (rc < 0) return make_error("cannot write the header of " + path + ": " + av_error(rc));
  if (ignored) return make_error("the muxer does not take cluster_time_limit");
  w->file_bytes_ = avio_tell(w->ctx_->pb);
  return w;
}

ClipWriter::~ClipWriter() {
  if (!finished_) (void)finish();
}

lss::Status ClipWriter::write(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe) {
  if (finished_ || track >= frames_.size()) return make_error("clip is closed");
  if (frame.empty()) return {};
  // Timestamps must not go backwards within a track (the muxer refuses).
  if (pts_ms <= last_track_pts_[track]) pts_ms = last_track_pts_[track] + 1;
  last_track_pts_[track] = pts_ms;
  // The frame is lent, not copied: av_write_frame leaves a packet without a
  // buffer to its caller and copies whatever the muxer keeps.
  AVStream* st = ctx_->streams[track];
  pkt_->data = const_cast<uint8_t*>(frame.data());
  pkt_->size = int(frame.size());
  pkt_->stream_index = int(track);
  pkt_->pts = pkt_->dts = av_rescale_q(pts_ms, AVRational{1, 1000}, st->time_base);
  pkt_->flags = keyframe ? AV_PKT_FLAG_KEY : 0;
  const int rc = av_write_frame(ctx_, pkt_);
  pkt_->data = nullptr;
  pkt_->size = 0;
  if (rc < 0) return make_error("write to " + path_ + " failed: " + av_error(rc));
  frames_[track]++;
  if (first_pts_ms_ < 0 || pts_ms < first_pts_ms_) first_pts_ms_ = pts_ms;
  if (pts_ms > last_pts_ms_) last_pts_ms_ = pts_ms;
  // The file grows only when a cluster is complete; that is when a sync
  // is worth its cost (at most one per kSyncMs).
  const int64_t on_file = avio_tell(ctx_->pb);
  if (on_file != file_bytes_) {
    file_bytes_ = on_file;
    if (pts_ms - last_sync_pts_ms_ >= kSyncMs) {
      last_sync_pts_ms_ = pts_ms;
      sync();
    }
  }
  return {};
}

void ClipWriter::sync() {
  if (fd_ < 0 || !sync_error_.ok()) return;
  sync_error_ = sync_fd(*io_, fd_, path_);
  syncs_++;
}

uint64_t ClipWriter::bytes_written() const {
  return pb_ ? uint64_t(avio_tell(pb_)) : 0;
}

lss::Status ClipWriter::finish() {
  if (finished_) return {};
  finished_ = true;
  int rc = 0;
  if (ctx_) {
    // Only after a header: the muxer is not set up before it.
    if (file_bytes_ > 0) rc = av_write_trailer(ctx_);
    ctx_->pb = nullptr;  // ours, freed below
    avformat_free_context(ctx_);
    ctx_ = nullptr;
  }
  if (pb_) {
    avio_flush(pb_);
    if (rc >= 0 && pb_->error < 0) rc = pb_->error;
    av_freep(&pb_->buffer);
    avio_context_free(&pb_);
  }
  av_packet_free(&pkt_);
  // A finished clip is renamed and queued next: it must be on disk first.
  if (rc >= 0) sync();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (rc < 0) return make_error("cannot finish " + path_ + ": " + av_error(rc));
  return sync_error_;
}

lss::Status remux_clip(const std::string& in_path, const std::string& out_path) {
  quiet_libav();
  AVFormatContext* in = nullptr;
  int rc = avformat_open_input(&in, in_path.c_str(), nullptr, nullptr);
  if (rc < 0) return make_error("cannot read " + in_path + ": " + av_error(rc));
  avformat_find_stream_info(in, nullptr);
  AVFormatContext* out = nullptr;
  rc = avformat_alloc_output_context2(&out, nullptr, nullptr, out_path.c_str());
  if (rc < 0 || !out) {
    avformat_close_input(&in);
    return make_error("cannot create a muxer for " + out_path);
  }
  lss::Status status;
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    AVStream* st = avformat_new_stream(out, nullptr);
    if (!st || avcodec_parameters_copy(st->codecpar, in->streams[i]->codecpar) < 0) {
      status = make_error("cannot copy stream parameters");
      break;
    }
    st->codecpar->codec_tag = 0;
    st->time_base = in->streams[i]->time_base;
  }
  if (status.ok() && (rc = avio_open(&out->pb, out_path.c_str(), AVIO_FLAG_WRITE)) < 0)
    status = make_error("cannot open " + out_path + ": " + av_error(rc));
  if (status.ok() && (rc = avformat_write_header(out, nullptr)) < 0)
    status = make_error("cannot write header: " + av_error(rc));
  if (status.ok()) {
    AVPacket* pkt = av_packet_alloc();
    // Read until the data ends. A cut tail ends the clip at the last whole
    // frame: the Matroska demuxer fails on a block cut short (nothing of it
    // is returned), and a frame it does return flagged corrupt ends the clip
    // for every track, since the video frames after it would refer to it.
    while (pkt && av_read_frame(in, pkt) >= 0) {
      if ((pkt->flags & AV_PKT_FLAG_CORRUPT) || pkt->size <= 0 ||
          unsigned(pkt->stream_index) >= out->nb_streams) {
        av_packet_unref(pkt);
        break;
      }
      av_packet_rescale_ts(pkt, in->streams[pkt->stream_index]->time_base,
                           out->streams[pkt->stream_index]->time_base);
      pkt->pos = -1;
      rc = av_interleaved_write_frame(out, pkt);
      av_packet_unref(pkt);
      if (rc < 0) {
        status = make_error("cannot write " + out_path + ": " + av_error(rc));
        break;
      }
    }
    av_packet_free(&pkt);
    if ((rc = av_write_trailer(out)) < 0 && status.ok())
      status = make_error("cannot finish " + out_path + ": " + av_error(rc));
  }
  if (out->pb) avio_closep(&out->pb);
  avformat_free_context(out);
  avformat_close_input(&in);
  // The caller deletes the crash leftover next: the clip must be on disk.
  if (status.ok()) status = sync_file(out_path);
  return status;
}

lss::Status probe_clip(const std::string& path, ClipInfo& info) {
  quiet_libav();
  AVFormatContext* in = nullptr;
  int rc = avformat_open_input(&in, path.c_str(), nullptr, nullptr);
  if (rc < 0) return make_error("cannot read " + path + ": " + av_error(rc));
  avformat_find_stream_info(in, nullptr);
  std::vector<bool> video(in->nb_streams);
  for (unsigned i = 0; i < in->nb_streams; ++i) {
    const AVCodecParameters* par = in->streams[i]->codecpar;
    video[i] = par->codec_type == AVMEDIA_TYPE_VIDEO;
    std::string name = to_upper_ascii(avcodec_get_name(par->codec_id));
    if (name == "OPUS") name = "opus";
    if (video[i]) {
      info.video_codec = name;
      info.width = par->width;
      info.height = par->height;
    } else {
      info.audio_codec = name;
    }
  }
  info.video_frames = info.audio_frames = 0;
  int64_t first = INT64_MAX, last = INT64_MIN;
  AVPacket* pkt = av_packet_alloc();
  while (av_read_frame(in, pkt) >= 0) {
    const size_t i = size_t(pkt->stream_index);
    (video[i] ? info.video_frames : info.audio_frames)++;
    if (pkt->pts != AV_NOPTS_VALUE) {
      const int64_t ms = av_rescale_q(pkt->pts, in->streams[i]->time_base, AVRational{1, 1000});
      first = std::min(first, ms);
      last = std::max(last, ms);
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avformat_close_input(&in);
  info.duration_s = last >= first ? double(last - first) / 1000.0 : 0;
  std::error_code ec;
  info.bytes = std::filesystem::file_size(path, ec);
  return {};
}

}  // namespace lss::record
