#pragma once
// One receiver's durable event queue: a folder of <seq>.json files, each the
// exact body to POST. push() returns only once the file is on disk (temp
// file, fsync, rename, fsync of the folder), so an event the server has
// taken survives kill -9 and power loss; the delivery thread deletes it after
// the receiver's 2xx. open() picks the queue up where a previous run left it.
//
// Thread-safe: the event sources push, the receiver's delivery thread reads
// front() and pop()s.
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lss::webhook {

struct QueuedEvent {
  uint64_t seq = 0;
  std::string body;
};

class DiskQueue {
 public:
  // Creates `dir` if needed, deletes temp files a crash left, and indexes the
  // queued events in order. At most `max_events` are kept: above that, the
  // oldest are dropped (with an error log) so a receiver that is gone for
  // good cannot fill the disk.
  static Result<std::unique_ptr<DiskQueue>> open(std::string dir, size_t max_events);
  ~DiskQueue();
  DiskQueue(const DiskQueue&) = delete;
  DiskQueue& operator=(const DiskQueue&) = delete;

  // Durable when it returns ok.
  Status push(std::string_view body);
  // The oldest event. A file that is not a whole event (damaged outside the
  // server) is renamed <seq>.json.corrupt, logged and skipped.
  std::optional<QueuedEvent> front();
  // Deletes event `seq` (delivered, or refused for good).
  void pop(uint64_t seq);

  size_t size() const;
  const std::string& dir() const { return dir_; }
  size_t dropped() const;  // events dropped for the bound since open()

 private:
  DiskQueue(std::string dir, size_t max_events);
  std::string path_of(uint64_t seq) const;
  void drop_oldest_locked();

  const std::string dir_;
  const size_t max_events_;
  mutable std::mutex mu_;
  std::deque<uint64_t> seqs_;  // on disk, oldest first
  uint64_t next_seq_ = 1;
  size_t dropped_ = 0;
};

}  // namespace lss::webhook
