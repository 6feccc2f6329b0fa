#include "hls/fmp4_muxer.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <cstring>
#include <string>

#include "codec/depacketizer.hpp"
#include "common/ascii_case.hpp"
#include "record/libav_support.hpp"

namespace lss::hls {

namespace {

using record::av_error;
using record::AvioBytes;
using record::set_extradata;

constexpr int kAvioBufferSize = 64 * 1024;

// Video in 90 kHz (what players expect for video; exact for ms times).
constexpr AVRational kVideoTimeBase{1, 90000};
constexpr AVRational kMs{1, 1000};

}  // namespace

bool h264_dimensions(ByteSpan annexb, int& width, int& height) {
  // NAL units between start codes (00 00 01, or 00 00 00 01).
  size_t i = 0;
  auto next_start = [&](size_t from) {
    for (size_t k = from; k + 3 <= annexb.size(); ++k) {
      if (annexb[k] == 0 && annexb[k + 1] == 0 && annexb[k + 2] == 1) return k;
    }
    return annexb.size();
  };
  i = next_start(0);
  while (i < annexb.size()) {
    const size_t begin = i + 3;
    size_t end = next_start(begin);
    const size_t next = end;
    while (end > begin && annexb[end - 1] == 0) end--;  // 4-byte start code, trailing zeros
    if (end > begin && (annexb[begin] & 0x1f) == 7) {
      auto [w, h] = codec::h264_sps_dimensions(annexb.subspan(begin, end - begin));
      if (w > 0 && h > 0) {
        width = w;
        height = h;
        return true;
      }
    }
    i = next;
  }
  return false;
}

bool parse_audio_specific_config(ByteSpan asc, int& sample_rate, int& channels) {
  static constexpr int kRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                   22050, 16000, 12000, 11025, 8000,  7350};
  if (asc.size() < 2) return false;
  const unsigned bits = unsigned(asc[0]) << 8 | asc[1];
  const unsigned object_type = bits >> 11;
  const unsigned rate_index = (bits >> 7) & 0x0f;
  const unsigned channel_config = (bits >> 3) & 0x0f;
  if (object_type == 31 || rate_index >= std::size(kRates) || channel_config == 0 ||
      channel_config > 7) {
    return false;  // escape object types, explicit rates, PCE layouts: not ours
  }
  sample_rate = kRates[rate_index];
  channels = channel_config == 7 ? 8 : int(channel_config);
  return true;
}

int Fmp4Muxer::avio_write(void* self, const uint8_t* data, int size) {
  auto* m = static_cast<Fmp4Muxer*>(self);
  m->out_.insert(m->out_.end(), data, data + size);
  return size;
}

Result<std::unique_ptr<Fmp4Muxer>> Fmp4Muxer::open(const std::vector<record::TrackSpec>& tracks,
                                                   const Fmp4Options& options) {
  // libavformat's chatter is not ours to print; failures come back as errors.
  av_log_set_level(AV_LOG_FATAL);
  if (tracks.empty()) return make_error("no tracks");
  std::unique_ptr<Fmp4Muxer> m(new Fmp4Muxer());
  m->options_ = options;
  int rc = avformat_alloc_output_context2(&m->ctx_, nullptr, "mp4", nullptr);
  if (rc < 0 || !m->ctx_) return make_error("cannot create an mp4 muxer: " + av_error(rc));
  int videos = 0;
  for (size_t i = 0; i < tracks.size(); ++i) {
    const auto& t = tracks[i];
    const std::string codec = to_upper_ascii(t.codec);
    AVStream* st = avformat_new_stream(m->ctx_, nullptr);
    if (!st) return make_error("cannot add a stream");
    AVCodecParameters* par = st->codecpar;
    Track track;
    track.video = t.video;
    if (t.video) {
      if (codec != "H264") return make_error("HLS cannot carry video codec " + t.codec);
      if (t.extradata.empty()) return make_error("H264 needs SPS and PPS to start HLS");
      if (++videos > 1) return make_error("HLS takes one video track");
      par->codec_type = AVMEDIA_TYPE_VIDEO;
      par->codec_id = AV_CODEC_ID_H264;
      // The SPS knows better than the spec (the recorder defaults to 640x480).
      par->width = t.width > 0 ? t.width : 640;
      par->height = t.height > 0 ? t.height : 480;
      h264_dimensions(t.extradata, par->width, par->height);
      st->time_base = kVideoTimeBase;
      track.default_duration_ms = 33;
      m->lead_ = i;
    } else {
      par->codec_type = AVMEDIA_TYPE_AUDIO;
      int rate = 48000, channels = 2;
      if (codec == "OPUS") {
        par->codec_id = AV_CODEC_ID_OPUS;
        track.default_duration_ms = 20;
      } else if (codec == "AAC" || codec == "MPEG4-GENERIC") {
        par->codec_id = AV_CODEC_ID_AAC;
        if (!parse_audio_specific_config(t.extradata, rate, channels))
          return make_error("AAC needs a usable AudioSpecificConfig");
        track.default_duration_ms = 1024 * 1000 / rate;
      } else {
        return make_error("HLS cannot carry audio codec " + t.codec);
      }
      par->sample_rate = rate;
      av_channel_layout_default(&par->ch_layout, channels);
      st->time_base = {1, rate};
    }
    Bytes extra = t.extradata;
    if (par->codec_id == AV_CODEC_ID_OPUS && extra.empty()) extra = record::opus_head();
    if (auto s = set_extradata(par, extra); !s) return make_error(s.message());
    m->tracks_.push_back(std::move(track));
  }
  m->pkt_ = av_packet_alloc();
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferSize));
  auto write_cb = [](void* self, AvioBytes data, int size) { return avio_write(self, data, size); };
  if (buffer) {
    m->pb_ = avio_alloc_context(buffer, kAvioBufferSize, 1, m.get(), nullptr, write_cb, nullptr);
  }
  if (!m->pb_ || !m->pkt_) {
    if (!m->pb_) av_free(buffer);
    return make_error("out of memory");
  }
  m->ctx_->pb = m->pb_;
  AVDictionary* opts = nullptr;
  // frag_custom: a fragment only when we flush one (a part). empty_moov:
  // the moov (init segment) carries no samples. default_base_moof: data
  // offsets relative to each moof, so a part stands alone. cmaf: the cmfc
  // brand. frag_discont with no edit list: each track's first tfdt is its
  // first sample's own time rather than zero, so tracks that start a few
  // milliseconds apart stay in sync without an edit list. skip_sidx,
  // skip_trailer: no index boxes, which a live part has no use for.
  av_dict_set(&opts, "movflags",
              "frag_custom+empty_moov+default_base_moof+cmaf+frag_discont+skip_sidx+skip_trailer",
              0);
  av_dict_set(&opts, "use_editlist", "0", 0);
  rc = avformat_write_header(m->ctx_, &opts);
  const bool ignored = av_dict_count(opts) > 0;
  av_dict_free(&opts);
  if (rc < 0) return make_error("cannot start the mp4 muxer: " + av_error(rc));
  if (ignored) return make_error("the mp4 muxer does not take our options");
  avio_flush(m->pb_);
  m->init_ = std::move(m->out_);
  m->out_.clear();
  if (m->init_.empty()) return make_error("the mp4 muxer wrote no init segment");
  return m;
}

Fmp4Muxer::~Fmp4Muxer() {
  if (ctx_) {
    ctx_->pb = nullptr;  // ours, freed below
    avformat_free_context(ctx_);
  }
  if (pb_) {
    av_freep(&pb_->buffer);
    avio_context_free(&pb_);
  }
  av_packet_free(&pkt_);
}

lss::Status Fmp4Muxer::write_packet(size_t track, const Held& frame) {
  // The frame is lent, not copied: the muxer copies what it keeps.
  AVStream* st = ctx_->streams[track];
  const int64_t pts = av_rescale_q(frame.pts_ms, kMs, st->time_base);
  const int64_t end = av_rescale_q(frame.pts_ms + frame.duration_ms, kMs, st->time_base);
  pkt_->data = const_cast<uint8_t*>(frame.data.data());
  pkt_->size = int(frame.data.size());
  pkt_->stream_index = int(track);
  pkt_->pts = pkt_->dts = pts;
  pkt_->duration = end - pts;
  pkt_->flags = frame.keyframe ? AV_PKT_FLAG_KEY : 0;
  const int rc = av_write_frame(ctx_, pkt_);
  pkt_->data = nullptr;
  pkt_->size = 0;
  if (rc < 0) return make_error("mp4 muxing failed: " + av_error(rc));
  frames_written_++;
  return {};
}

lss::Status Fmp4Muxer::write_ready_before(int64_t end_ms, bool all) {
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (i == lead_) continue;
    auto& ready = tracks_[i].ready;
    while (!ready.empty() && (all || ready.front().pts_ms < end_ms)) {
      if (auto s = write_packet(i, ready.front()); !s) return s;
      ready.pop_front();
    }
  }
  return {};
}

lss::Status Fmp4Muxer::cut_part(int64_t end_ms, std::vector<Fmp4Part>& out) {
  if (!part_has_frames_) return {};
  const int rc = av_write_frame(ctx_, nullptr);  // frag_custom: flush one fragment
  if (rc < 0) return make_error("cannot cut an mp4 fragment: " + av_error(rc));
  avio_flush(pb_);
  Fmp4Part part;
  part.msn = msn_;
  part.index = part_index_;
  part.start_ms = part_start_ms_;
  part.duration_ms = end_ms - part_start_ms_;
  part.independent = part_independent_;
  part.data = std::move(out_);
  out_.clear();
  out.push_back(std::move(part));
  part_has_frames_ = false;
  return {};
}

lss::Status Fmp4Muxer::write(size_t track, ByteSpan frame, int64_t pts_ms, bool keyframe,
                             std::vector<Fmp4Part>& out) {
  if (finished_) return make_error("the muxer is finished");
  if (track >= tracks_.size()) return make_error("no such track");
  if (frame.empty()) return {};
  Track& t = tracks_[track];
  const bool independent = t.video ? keyframe : true;  // every audio frame is
  if (!started_) {
    // The stream opens with a keyframe of the lead track; before it there
    // is nothing a player could start from. Frames of the other tracks wait
    // (a few): the audio of that keyframe's instant may come before it.
    if (track != lead_ || !independent) {
      if (track != lead_) {
        if (early_.size() >= kMaxEarlyFrames) early_.pop_front();
        early_.push_back({track, Bytes(frame.begin(), frame.end()), pts_ms});
      }
      return {};
    }
    started_ = true;
    origin_ms_ = pts_ms;
    part_independent_ = true;
    last_key_ms_ = 0;
    // Those from the keyframe's time on belong to the stream.
    std::deque<Early> early = std::move(early_);
    early_.clear();
    for (const auto& e : early) {
      if (e.pts_ms < pts_ms) continue;
      if (auto s = write(e.track, e.data, e.pts_ms, true, out); !s) return s;
    }
  }
  int64_t at = pts_ms - origin_ms_;
  if (at < 0) return {};  // audio from before the first keyframe
  if (at <= t.last_pts_ms) at = t.last_pts_ms + 1;
  t.last_pts_ms = at;
  if (t.have_held) {
    t.held.duration_ms = at - t.held.pts_ms;
    t.last_duration_ms = t.held.duration_ms;
  }
  if (track == lead_ && t.have_held) {
    // The held frame closes the part in progress; does this one open the next?
    const int64_t interval = t.held.duration_ms;
    const int64_t elapsed = at - segment_start_ms_;  // the segment if cut here
    const int64_t longest = max_segment_ms(options_.segment_target_ms);
    bool new_segment = false;
    if (independent) {
      // The GOP this keyframe ends stands for the next one.
      const int64_t gop = at - last_key_ms_;
      new_segment = elapsed >= options_.segment_target_ms || elapsed + gop > longest;
      last_key_ms_ = at;
    }
    if (elapsed + interval > longest) new_segment = true;  // no keyframe in time
    const bool new_part = new_segment || at + interval - part_start_ms_ > options_.part_target_ms;
    if (auto s = write_packet(track, t.held); !s) return s;
    part_has_frames_ = true;
    if (new_part) {
      if (auto s = write_ready_before(at, false); !s) return s;
      if (auto s = cut_part(at, out); !s) return s;
      if (new_segment) {
        msn_++;
        part_index_ = 0;
        segment_start_ms_ = at;
      } else {
        part_index_++;
      }
      part_start_ms_ = at;
      part_independent_ = independent;
    }
  } else if (t.have_held) {
    t.ready.push_back(std::move(t.held));
  }
  t.held.data.assign(frame.begin(), frame.end());
  t.held.pts_ms = at;
  t.held.duration_ms = 0;
  t.held.keyframe = independent;
  t.have_held = true;
  return {};
}

lss::Status Fmp4Muxer::finish(std::vector<Fmp4Part>& out) {
  if (finished_) return {};
  finished_ = true;
  if (!started_) return {};
  // The frames held back get the duration of the frame before them.
  int64_t end_ms = part_start_ms_;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Track& t = tracks_[i];
    if (!t.have_held) continue;
    t.held.duration_ms = t.last_duration_ms > 0 ? t.last_duration_ms : t.default_duration_ms;
    if (i == lead_) {
      if (auto s = write_packet(i, t.held); !s) return s;
      part_has_frames_ = true;
      end_ms = t.held.pts_ms + t.held.duration_ms;
    } else {
      t.ready.push_back(std::move(t.held));
    }
    t.have_held = false;
  }
  if (auto s = write_ready_before(0, true); !s) return s;
  return cut_part(end_ms, out);
}

}  // namespace lss::hls
