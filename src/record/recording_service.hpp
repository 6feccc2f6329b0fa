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
  RecordingService(std::string spool_dir, ClipLimits limits, StreamRecorder::ClipCallback on_clip);
  ~RecordingService();  // finishes every open clip

  // Thread-safe. Returns the sink the stream pushes its packets into.
  std::shared_ptr<RecordingSink> start(const std::string& stream_name, const std::string& stream_id,
                                       std::vector<RecordedTrack> tracks);
  void stop();

 private:
  struct Entry {
    std::shared_ptr<RecordingSink> sink;
    std::unique_ptr<StreamRecorder> recorder;
  };
  void run();

  std::string spool_dir_;
  ClipLimits limits_;
  StreamRecorder::ClipCallback on_clip_;
  std::mutex mu_;  // guards incoming_ only (control path)
  std::vector<Entry> incoming_;
  std::vector<Entry> active_;  // recording thread only
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace lss::record
