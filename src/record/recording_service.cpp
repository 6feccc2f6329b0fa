#include "record/recording_service.hpp"

#include <spdlog/spdlog.h>

#include "common/bytes.hpp"

namespace lss::record {

RecordingService::RecordingService(std::string spool_dir, ClipLimits limits,
                                   StreamRecorder::ClipCallback on_clip, FileIo& io)
    : spool_dir_(std::move(spool_dir)), limits_(limits), on_clip_(std::move(on_clip)), io_(io) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "recorder");
    run();
  });
}

RecordingService::~RecordingService() {
  stop();
}

void RecordingService::stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  thread_.join();
}

std::shared_ptr<RecordingSink> RecordingService::start(const std::string& stream_name,
                                                       const std::string& stream_id,
                                                       std::vector<RecordedTrack> tracks,
                                                       std::shared_ptr<FrameTap> tap,
                                                       bool write_clips) {
  RecorderOptions o;
  o.spool_dir = spool_dir_;
  o.stream_name = stream_name;
  o.stream_id = stream_id;
  o.started = std::chrono::system_clock::now();
  o.limits = limits_;
  o.tracks = std::move(tracks);
  o.io = &io_;
  o.stats = &stats_;
  o.tap = std::move(tap);
  o.write_clips = write_clips;
  Entry e{std::make_shared<RecordingSink>(),
          std::make_unique<StreamRecorder>(std::move(o), on_clip_)};
  auto sink = e.sink;
  std::lock_guard lock(mu_);
  incoming_.push_back(std::move(e));
  return sink;
}

void RecordingService::run() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      for (auto& e : incoming_) active_.push_back(std::move(e));
      incoming_.clear();
    }
    const bool stopping = stop_.load();
    size_t work = 0;
    for (auto it = active_.begin(); it != active_.end();) {
      Entry& e = *it;
      const bool closed = e.sink->closed.load(std::memory_order_acquire);
      work += e.sink->ring.drain([&](const PacketRing::Slot& s) {
        if (s.track & PacketRing::kSenderReportFlag) {
          if (s.size == 12) {
            e.recorder->on_sender_report(s.track & ~PacketRing::kSenderReportFlag,
                                         load_be64(s.data), load_be32(s.data + 8), s.arrival);
          }
          return;
        }
        e.recorder->on_packet(s.track, s.data, s.size, s.arrival);
      });
      if (const uint64_t dropped = e.sink->ring.dropped(); dropped != e.dropped_seen) {
        stats_.packets_dropped.fetch_add(dropped - e.dropped_seen, std::memory_order_relaxed);
        e.dropped_seen = dropped;
      }
      if (e.recorder->keyframe_wanted()) {
        e.sink->keyframe_wanted.store(true, std::memory_order_relaxed);
        e.recorder->keyframe_requested();
      }
      if (closed || stopping) {
        // Everything pushed before `closed` was set has been drained above.
        e.recorder->finish();
        if (e.sink->ring.dropped()) {
          spdlog::warn("recording: {} packets dropped because the recorder fell behind",
                       e.sink->ring.dropped());
        }
        it = active_.erase(it);
      } else {
        ++it;
      }
    }
    if (stopping) return;
    if (work == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace lss::record
