#pragma once
// The spool is the durable upload queue: each finished clip is a file plus a
// JSON sidecar. The uploader puts the clip in the object store, then writes
// its catalog record, then announces it, then deletes the local copy; a crash
// at any step repeats the steps after the last one that finished, all of
// which are idempotent. Failures retry with backoff, forever, on their own
// thread. On start it also finalizes clips a crash left half-written.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "catalog/catalog.hpp"
#include "record/clip_info.hpp"
#include "storage/object_store.hpp"

namespace lss::storage {

class Uploader {
 public:
  using ClipCallback = std::function<void(const catalog::ClipRecord&)>;

  Uploader(std::string spool_dir, ObjectStore& store, catalog::Catalog& catalog,
           ClipCallback on_stored);
  ~Uploader();

  void start();
  void stop();
  void notify();  // a new clip is in the spool

  // One pass over the spool (the thread calls this; tests may too).
  // Returns how many clips were stored.
  size_t process_once();
  // Remuxes clips left as *.part by a crash into finished clips with sidecars.
  size_t recover_partial_clips();
  size_t pending() const { return pending_.load(); }

 private:
  Status upload(const std::string& sidecar);

  std::string spool_;
  ObjectStore& store_;
  catalog::Catalog& catalog_;
  ClipCallback on_stored_;
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, int>> backoff_;
  std::atomic<size_t> pending_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace lss::storage
