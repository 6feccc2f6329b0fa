#include "record/stream_recorder.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
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
    : opts_(std::move(options)), on_clip_(std::move(on_clip)), policy_(opts_.limits) {
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
  const bool can_start = t.spec.video ? frame.keyframe : !has_video_;
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
    if (!open_clip(pts)) return;
  } else if (policy_.should_cut(writer_->bytes_written(), pts - clip_start_pts_, can_start)) {
    close_clip();
    if (!open_clip(pts)) return;
  }
  write(track, frame, pts);
}

void StreamRecorder::write(size_t track, const codec::EncodedFrame& frame, int64_t pts_ms) {
  auto st = writer_->write(track, frame.data, std::max<int64_t>(0, pts_ms - clip_start_pts_),
                           frame.keyframe);
  if (!st.ok()) {
    // A full disk fails every write: say so once per clip, keep going (the
    // stream is still forwarded; the clip keeps what was written).
    if (write_errors_++ == 0) {
      last_error_ = st.message();
      spdlog::error("recording '{}': clip {} cannot be written: {}", opts_.stream_name,
                    current_.index, last_error_);
    }
    return;
  }
  (tracks_[track].spec.video ? current_.video_frames : current_.audio_frames)++;
  (tracks_[track].spec.video ? video_frames_total_ : audio_frames_total_)++;
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
  current_.index = next_index_++;
  current_.object_key = dir_key_ + "/" + std::to_string(current_.index) + ext;
  current_.file = (fs::path(opts_.spool_dir) / current_.object_key).string();
  current_.started_at = iso8601_utc(std::chrono::system_clock::now(), false);
  for (const auto& t : tracks_) {
    (t.spec.video ? current_.video_codec : current_.audio_codec) = t.spec.codec;
    if (t.spec.video) current_.width = t.width, current_.height = t.height;
  }
  std::error_code ec;
  fs::create_directories(fs::path(current_.file).parent_path(), ec);
  auto w = ClipWriter::open(current_.file + ".part", specs);
  if (!w.ok()) {
    last_error_ = w.error().message;
    spdlog::error("recording '{}': cannot start clip {}: {}", opts_.stream_name, current_.index,
                  last_error_);
    return false;
  }
  writer_ = std::move(w.value());
  write_errors_ = 0;
  // Audio captured before the first keyframe starts the clip a little earlier
  // than the video does, rather than being squeezed onto its start.
  clip_start_pts_ =
      pending_audio_.empty() ? start_pts_ms : std::min(start_pts_ms, pending_audio_.front().second);
  // Audio that came before the first keyframe opens the first clip.
  while (!pending_audio_.empty()) {
    auto& [f, pts] = pending_audio_.front();
    for (size_t i = 0; i < tracks_.size(); ++i) {
      if (!tracks_[i].spec.video) write(i, f, pts);
    }
    pending_audio_.pop_front();
  }
  return true;
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
  if (!st.ok()) spdlog::warn("recording '{}': {}", opts_.stream_name, st.message());
  current_.bytes = fs::file_size(current_.file + ".part", ec);
  fs::rename(current_.file + ".part", current_.file, ec);
  if (ec) {
    spdlog::error("recording '{}': cannot finish {}: {}", opts_.stream_name, current_.file,
                  ec.message());
    return;
  }
  // The sidecar marks the clip as ready for upload; written last, atomically
  // and durably (with the clip's rename), so a power cut cannot leave a clip
  // with an empty sidecar that would never be uploaded.
  if (auto ws = write_file_durably(current_.file + ".json", to_json(current_).dump(2)); !ws) {
    spdlog::error("recording '{}': cannot write the sidecar of {}: {}", opts_.stream_name,
                  current_.file, ws.message());
  }
  clips_finished_++;
  spdlog::info("recording '{}': clip {} done ({:.1f} s, {} bytes)", opts_.stream_name,
               current_.index, current_.duration_s, current_.bytes);
  if (on_clip_) on_clip_(current_);
}

void StreamRecorder::finish() {
  close_clip();
}

}  // namespace lss::record
