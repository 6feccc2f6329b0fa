#include "record/stream_recorder.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/durable_file.hpp"
#include "common/iso8601.hpp"
#include "rtp/rtp_packet.hpp"

namespace lss::record {

namespace fs = std::filesystem;

namespace {
constexpr size_t kMaxPendingAudio = 500;  // ~10 s of Opus before the first keyframe

// Calls f(nal_type, nal_with_start_code) for each NAL of an Annex B buffer.
template <typename F>
void for_each_nal(ByteSpan b, F&& f) {
  size_t i = 0;
  auto start_code = [&](size_t at) -> size_t {
    if (at + 3 <= b.size() && b[at] == 0 && b[at + 1] == 0 && b[at + 2] == 1) return 3;
    if (at + 4 <= b.size() && b[at] == 0 && b[at + 1] == 0 && b[at + 2] == 0 && b[at + 3] == 1)
      return 4;
    return 0;
  };
  while (i < b.size() && !start_code(i)) ++i;
  while (i < b.size()) {
    const size_t sc = start_code(i);
    size_t j = i + sc;
    while (j < b.size() && !start_code(j)) ++j;
    if (i + sc < j) f(uint8_t(b[i + sc] & 0x1f), b.subspan(i, j - i));
    i = j;
  }
}
uint64_t frames_of(const ClipInfo& info) {
  return info.video_frames + info.audio_frames;
}

}  // namespace

Bytes h264_parameter_sets(ByteSpan annexb) {
  Bytes out;
  for_each_nal(annexb, [&](uint8_t type, ByteSpan nal) {
    if (type == 7 || type == 8) out.insert(out.end(), nal.begin(), nal.end());
  });
  return out;
}

Bytes av1_sequence_header(ByteSpan obus) {
  // Low-overhead OBUs with size fields: header, [extension], leb128 size, payload.
  size_t i = 0;
  while (i < obus.size()) {
    const uint8_t h = obus[i];
    const uint8_t type = (h >> 3) & 0x0f;
    size_t p = i + 1 + ((h & 0x04) ? 1 : 0);
    if (!(h & 0x02)) return {};  // no size field: cannot walk further
    uint64_t size = 0;
    for (int k = 0; k < 8 && p < obus.size(); ++k, ++p) {
      size |= uint64_t(obus[p] & 0x7f) << (7 * k);
      if (!(obus[p] & 0x80)) {
        ++p;
        break;
      }
    }
    if (p + size > obus.size()) return {};
    if (type == 1) return Bytes(obus.begin() + ptrdiff_t(i), obus.begin() + ptrdiff_t(p + size));
    i = p + size;
  }
  return {};
}

StreamRecorder::StreamRecorder(RecorderOptions options, ClipCallback on_clip)
    : opts_(std::move(options)),
      on_clip_(std::move(on_clip)),
      policy_(opts_.limits),
      io_(opts_.io ? opts_.io : &system_file_io()),
      stats_(opts_.stats ? opts_.stats : &own_stats_) {
  for (const auto& spec : opts_.tracks) {
    TrackState t;
    t.spec = spec;
    t.depacketizer = codec::Depacketizer::create(spec.codec);
    if (spec.video) has_video_ = true;
    tracks_.push_back(std::move(t));
  }
  dir_key_ = opts_.stream_name + "/" + iso8601_utc(opts_.started, true) + "-" + opts_.stream_id;
}

StreamRecorder::~StreamRecorder() {
  finish();
}

void StreamRecorder::on_packet(uint8_t track, const uint8_t* data, size_t size, Timestamp arrival) {
  if (track >= tracks_.size() || !tracks_[track].depacketizer) return;
  if (!started_) {
    started_ = true;
    recording_start_ = arrival;
  }
  TrackState& t = tracks_[track];
  std::vector<codec::EncodedFrame> frames;
  if (size < 12) return;
  t.reorder.push(load_be16(data + 2), data, size, [&](uint16_t seq, const uint8_t* d, size_t n) {
    RtpPacket pkt;  // read-only view: the reorder buffer's copy is not modified
    if (!RtpPacket::parse(const_cast<uint8_t*>(d), n, pkt)) return;
    const uint64_t before = t.depacketizer->dropped_frames();
    t.depacketizer->push(seq, pkt.timestamp(), pkt.marker(), pkt.payload(), frames);
    if (t.spec.video && t.depacketizer->dropped_frames() != before) {
      frames_dropped_ += t.depacketizer->dropped_frames() - before;
      keyframe_wanted_ = true;  // a loss: the decoder chain needs a fresh start
    }
  });
  for (auto& f : frames) on_frame(track, f, arrival);
}

int64_t StreamRecorder::frame_pts_ms(TrackState& t, uint32_t rtp_ts, Timestamp arrival) {
  // RTP time since the track's first frame, anchored at that frame's arrival
  // until the track's sender report ties its clock to the sender's NTP time.
  if (!t.have_base) {
    t.have_base = true;
    t.last_ts = rtp_ts;
    t.base_ts = rtp_ts;
    t.base_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(arrival - recording_start_).count();
  }
  const int32_t step = int32_t(rtp_ts - t.last_ts);
  if (step > 0 && rtp_ts < t.last_ts) t.ts_cycles += int64_t(1) << 32;
  if (step < 0 && rtp_ts > t.last_ts) t.ts_cycles -= int64_t(1) << 32;
  t.last_ts = rtp_ts;
  const int64_t unwrapped = t.ts_cycles + int64_t(rtp_ts) - t.base_ts;
  if (t.have_sr && have_ntp_offset_) {
    const double ntp_ms =
        t.sr_ntp_ms + double(unwrapped - t.sr_unwrapped) * 1000.0 / t.spec.clock_rate;
    return int64_t(std::llround(ntp_ms - ntp_offset_ms_));
  }
  return t.base_ms + unwrapped * 1000 / int64_t(t.spec.clock_rate);
}

void StreamRecorder::on_sender_report(uint8_t track, uint64_t ntp, uint32_t rtp_ts,
                                      Timestamp arrival) {
  if (track >= tracks_.size() || !started_) return;
  TrackState& t = tracks_[track];
  if (!t.have_base) return;  // no media yet: nothing to place on the timeline
  // NTP 32.32 fixed point -> ms (the era does not matter, only differences).
  const double ntp_ms =
      double(ntp >> 32) * 1000.0 + double(ntp & 0xffffffffu) * 1000.0 / 4294967296.0;
  if (!have_ntp_offset_) {
    // One offset for all tracks: the sender's clock against ours, fixed at the
    // first report, so tracks stay aligned with each other.
    have_ntp_offset_ = true;
    ntp_offset_ms_ =
        ntp_ms -
        double(std::chrono::duration_cast<std::chrono::milliseconds>(arrival - recording_start_)
                   .count());
  }
  t.have_sr = true;
  t.sr_ntp_ms = ntp_ms;
  t.sr_unwrapped =
      t.ts_cycles + int64_t(int32_t(rtp_ts - t.last_ts)) + int64_t(t.last_ts) - t.base_ts;
}

void StreamRecorder::on_frame(size_t track, codec::EncodedFrame& frame, Timestamp arrival) {
  TrackState& t = tracks_[track];
  now_ = arrival;
  const int64_t pts = frame_pts_ms(t, frame.rtp_timestamp, arrival);
  if (t.spec.video && frame.keyframe) {
    if (frame.width) t.width = frame.width, t.height = frame.height;
    if (t.spec.codec == "H264") {
      Bytes ps = h264_parameter_sets(frame.data);
      if (!ps.empty()) t.extradata = std::move(ps);
    } else if (t.spec.codec == "AV1") {
      Bytes sh = av1_sequence_header(frame.data);
      if (!sh.empty()) t.extradata = std::move(sh);
    }
  }
  // The tap sees every frame, before (and whatever) the clip logic decides.
  if (opts_.tap) opts_.tap->on_frame(track, frame.data, pts, frame.keyframe);
  if (!opts_.write_clips) return;
  const bool can_start = t.spec.video ? frame.keyframe : !has_video_;
  auto skip = [&] {
    frames_not_recorded_++;
    stats_->frames_not_recorded.fetch_add(1, std::memory_order_relaxed);
  };
  if (paused_ && !ready_to_resume(can_start)) return skip();
  if (!writer_) {
    if (!can_start) {
      if (t.spec.video) {
        frames_dropped_++;
        keyframe_wanted_ = true;
      } else if (pending_audio_.size() < kMaxPendingAudio) {
        pending_audio_.emplace_back(std::move(frame), pts);
      }
      return;
    }
    if (!open_clip(pts)) return skip();
  } else if (policy_.should_cut(writer_->bytes_written(), pts - clip_start_pts_, can_start)) {
    close_clip();
    if (paused_ || !open_clip(pts)) return skip();
  }
  if (!write(track, frame, pts)) return;
  if (paused_) {
    paused_ = false;
    stats_->paused.fetch_sub(1, std::memory_order_relaxed);
    spdlog::info(
        "recording of stream '{}' resumed after {:.1f} s with clip {} ({} frames not recorded)",
        opts_.stream_name, std::chrono::duration<double>(arrival - paused_at_).count(),
        current_.index, frames_not_recorded_ - not_recorded_at_pause_);
  }
}

bool StreamRecorder::write(size_t track, const codec::EncodedFrame& frame, int64_t pts_ms) {
  if (!writer_) return false;
  auto st = writer_->write(track, frame.data, std::max<int64_t>(0, pts_ms - clip_start_pts_),
                           frame.keyframe);
  if (!st.ok()) {
    interrupt(st.message());
    return false;
  }
  (tracks_[track].spec.video ? current_.video_frames : current_.audio_frames)++;
  (tracks_[track].spec.video ? video_frames_total_ : audio_frames_total_)++;
  return true;
}

bool StreamRecorder::open_clip(int64_t start_pts_ms) {
  std::vector<TrackSpec> specs;
  for (const auto& t : tracks_) {
    specs.push_back({t.spec.video, t.spec.codec, t.width ? t.width : 640, t.height ? t.height : 480,
                     t.extradata});
  }
  const std::string ext = container_extension(specs);
  current_ = ClipInfo{};
  current_.stream_name = opts_.stream_name;
  current_.stream_id = opts_.stream_id;
  current_.index = next_index_;
  current_.object_key = dir_key_ + "/" + std::to_string(current_.index) + ext;
  current_.file = (fs::path(opts_.spool_dir) / current_.object_key).string();
  current_.started_at = iso8601_utc(std::chrono::system_clock::now(), false);
  for (const auto& t : tracks_) {
    (t.spec.video ? current_.video_codec : current_.audio_codec) = t.spec.codec;
    if (t.spec.video) current_.width = t.width, current_.height = t.height;
  }
  std::error_code ec;
  fs::create_directories(fs::path(current_.file).parent_path(), ec);
  auto w = ClipWriter::open(current_.file + ".part", specs, *io_);
  if (!w.ok()) {
    fs::remove(current_.file + ".part", ec);
    pause("cannot start clip " + std::to_string(current_.index) + ": " + w.error().message);
    return false;
  }
  next_index_++;
  writer_ = std::move(w.value());
  // Audio captured before the first keyframe starts the clip a little earlier
  // than the video does, rather than being squeezed onto its start.
  clip_start_pts_ =
      pending_audio_.empty() ? start_pts_ms : std::min(start_pts_ms, pending_audio_.front().second);
  // Audio that came before the first keyframe opens the first clip.
  while (!pending_audio_.empty() && writer_) {
    auto& [f, pts] = pending_audio_.front();
    for (size_t i = 0; i < tracks_.size(); ++i) {
      if (!tracks_[i].spec.video) write(i, f, pts);
    }
    pending_audio_.pop_front();
  }
  pending_audio_.clear();
  return writer_ != nullptr;
}

void StreamRecorder::close_clip() {
  if (!writer_) return;
  const uint64_t frames = current_.video_frames + current_.audio_frames;
  const auto st = writer_->finish();
  current_.bytes = writer_->bytes_written();
  current_.duration_s = double(writer_->duration_ms()) / 1000.0;
  writer_.reset();
  current_.ended_at = iso8601_utc(std::chrono::system_clock::now(), false);
  std::error_code ec;
  if (frames == 0) {
    fs::remove(current_.file + ".part", ec);
    return;
  }
  current_.bytes = fs::file_size(current_.file + ".part", ec);
  // A failed trailer or sync leaves a file only remux_clip can complete,
  // once there is room for it.
  unfinished_ = Unfinished{current_, !st.ok(), false};
  if (!st.ok()) return pause(st.message());
  if (auto done = finish_unfinished(); !done) pause(done.message());
}

void StreamRecorder::interrupt(const std::string& error) {
  const uint64_t frames = frames_of(current_);
  (void)writer_->finish();  // nothing more reaches the disk: AVIO's error sticks
  writer_.reset();
  current_.ended_at = iso8601_utc(std::chrono::system_clock::now(), false);
  std::error_code ec;
  if (frames == 0) {
    fs::remove(current_.file + ".part", ec);
    next_index_ = current_.index;  // nothing of it was kept: clip numbers stay without a hole
  } else {
    unfinished_ = Unfinished{current_, true, false};
  }
  pause(error);
}

void StreamRecorder::pause(const std::string& error) {
  last_error_ = error;
  stats_->write_errors.fetch_add(1, std::memory_order_relaxed);
  retry_at_ = now_ + kRetryInterval;
  resume_ready_ = false;
  if (paused_) return;  // a retry that failed: said already
  paused_ = true;
  paused_at_ = now_;
  not_recorded_at_pause_ = frames_not_recorded_;
  stats_->paused.fetch_add(1, std::memory_order_relaxed);
  const bool full = error.find(std::strerror(ENOSPC)) != std::string::npos;
  spdlog::warn("recording of stream '{}' paused: {} ({}); retrying every {} s", opts_.stream_name,
               full ? "no space left on device" : error, opts_.spool_dir,
               std::chrono::seconds(kRetryInterval).count());
}

bool StreamRecorder::ready_to_resume(bool can_start) {
  if (now_ >= retry_at_) {
    retry_at_ = now_ + kRetryInterval;
    if (space_to_resume()) {
      if (auto st = finish_unfinished(); !st) {
        pause(st.message());
      } else {
        resume_ready_ = true;
        if (has_video_) keyframe_wanted_ = true;  // the next clip starts with one
      }
    }
  }
  return resume_ready_ && can_start;
}

bool StreamRecorder::space_to_resume() const {
  std::error_code ec;
  const auto space = fs::space(opts_.spool_dir, ec);
  if (ec) return true;  // cannot tell: let the write say
  uint64_t need = kResumeFreeBytes;
  if (unfinished_ && unfinished_->remux)
    need += fs::file_size(unfinished_->info.file + ".part", ec);
  return space.available >= need;
}

lss::Status StreamRecorder::drop_unfinished(const std::string& why) {
  const ClipInfo& info = unfinished_->info;
  std::error_code ec;
  fs::remove(info.file + ".part", ec);
  spdlog::warn("recording '{}': clip {} dropped: {}", opts_.stream_name, info.index, why);
  // No clip was opened after it (that waits for this one): its number is
  // reused, so clip numbers stay without a hole.
  if (next_index_ == info.index + 1) next_index_ = info.index;
  unfinished_.reset();
  return {};
}

lss::Status StreamRecorder::finish_unfinished() {
  if (!unfinished_) return {};
  Unfinished& u = *unfinished_;
  const std::string part = u.info.file + ".part";
  std::error_code ec;
  if (u.remux) {
    // Only what reached the disk counts, not what the muxer took: it holds
    // a cluster in memory, and a disk that filled up during the header
    // leaves a file without one whole frame (or without a readable header).
    ClipInfo on_disk = u.info;
    if (auto st = probe_clip(part, on_disk); !st || frames_of(on_disk) == 0)
      return drop_unfinished(st ? "no whole frame reached the disk" : st.message());
    // The clip plays up to the last frame that reached the disk.
    if (auto st = remux_clip(part, u.info.file); !st) {
      fs::remove(u.info.file, ec);
      return st;
    }
    ClipInfo probed = u.info;
    if (auto st = probe_clip(u.info.file, probed); !st || frames_of(probed) == 0) {
      fs::remove(u.info.file, ec);
      return drop_unfinished(st ? "its remux holds no frame" : st.message());
    }
    u.info = probed;
    fs::remove(part, ec);
    u.remux = false;
    u.renamed = true;
  } else if (!u.renamed) {
    fs::rename(part, u.info.file, ec);
    if (ec) return make_error("cannot finish " + u.info.file + ": " + ec.message());
    u.renamed = true;
  }
  // The sidecar marks the clip as ready for upload; written last, atomically
  // and durably (with the clip's rename), so a power cut cannot leave a clip
  // with an empty sidecar that would never be uploaded.
  if (auto ws = write_file_durably(u.info.file + ".json", to_json(u.info).dump(2)); !ws) {
    return make_error("cannot write the sidecar of " + u.info.file + ": " + ws.message());
  }
  const ClipInfo done = std::move(u.info);
  unfinished_.reset();
  clips_finished_++;
  spdlog::info("recording '{}': clip {} done ({:.1f} s, {} bytes)", opts_.stream_name, done.index,
               done.duration_s, done.bytes);
  if (on_clip_) on_clip_(done);
  return {};
}

void StreamRecorder::finish() {
  if (opts_.tap && !tap_ended_) {
    tap_ended_ = true;
    opts_.tap->end();
  }
  close_clip();
  if (unfinished_ && space_to_resume()) {
    if (auto st = finish_unfinished(); !st) last_error_ = st.message();
  }
  if (unfinished_) {
    // The uploader's start-up recovery completes a .part left in the spool.
    std::error_code ec;
    if (unfinished_->renamed)
      fs::rename(unfinished_->info.file, unfinished_->info.file + ".part", ec);
    spdlog::warn(
        "recording of stream '{}': clip {} left unfinished in the spool ({}); it is "
        "recovered at the next start",
        opts_.stream_name, unfinished_->info.index, last_error_);
    unfinished_.reset();
  }
  if (paused_) {
    paused_ = false;
    stats_->paused.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace lss::record
