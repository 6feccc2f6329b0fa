#pragma once
// The recording thread: one StreamRecorder per live stream, fed through a
// lock-free PacketRing per stream, so a slow disk never stalls a media
// worker. Streams only touch their RecordingSink.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "record/packet_ring.hpp"
#include "record/stream_recorder.hpp"

namespace lss::record {

// Shared by a stream (media thread, producer) and the recording thread.
struct RecordingSink {
  PacketRing ring;
  std::atomic<bool> keyframe_wanted{false};  // set by the recorder, cleared by the stream
  std::atomic<bool> closed{false};           // the stream ended
};

class RecordingService {
 public:
  // Clips are written through `io` (the disk itself unless a test says).
  RecordingService(std::string spool_dir, ClipLimits limits, StreamRecorder::ClipCallback on_clip,
                   FileIo& io = system_file_io());
  ~RecordingService();  // finishes every open clip

  // Thread-safe. Returns the sink the stream pushes its packets into.
  // `tap` (e.g. live HLS) gets the stream's frames too; without
  // `write_clips` the stream is only depacketized for the tap, so one thread
  // and one code path serve recording, HLS, or both.
  std::shared_ptr<RecordingSink> start(const std::string& stream_name, const std::string& stream_id,
                                       std::vector<RecordedTrack> tracks,
                                       std::shared_ptr<FrameTap> tap = nullptr,
                                       bool write_clips = true);
  void stop();
  // Thread-safe: read by /metrics.
  const RecordingStats& stats() const { return stats_; }

 private:
  struct Entry {
    std::shared_ptr<RecordingSink> sink;
    std::unique_ptr<StreamRecorder> recorder;
    uint64_t dropped_seen = 0;  // of sink->ring.dropped(), already in stats_
  };
  void run();

  std::string spool_dir_;
  ClipLimits limits_;
  StreamRecorder::ClipCallback on_clip_;
  FileIo& io_;
  RecordingStats stats_;
  std::mutex mu_;  // guards incoming_ only (control path)
  std::vector<Entry> incoming_;
  std::vector<Entry> active_;  // recording thread only
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace lss::record
