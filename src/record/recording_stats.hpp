#pragma once
// What /metrics shows of the recording: written by the recording thread,
// read by the control thread at a scrape.
#include <atomic>
#include <cstdint>

namespace lss::record {

struct RecordingStats {
  // Streams whose recording is paused because the spool cannot be written.
  std::atomic<int64_t> paused{0};
  // Clip writes, opens and finishes that failed (a retry at most once a
  // second per paused stream).
  std::atomic<uint64_t> write_errors{0};
  // Frames not recorded because their stream's recording was paused.
  std::atomic<uint64_t> frames_not_recorded{0};
  // Packets a media worker could not hand over: the recorder was behind.
  std::atomic<uint64_t> packets_dropped{0};
};

}  // namespace lss::record
