#pragma once
// The spool is the durable upload queue: each finished clip is a file plus a
// JSON sidecar. The uploader puts the clip in the object store, then writes
// its catalog record, then announces it, then deletes the local copy; a crash
// at any step repeats the steps after the last one that finished, all of
// which are idempotent. Failures retry with backoff, forever, on their own
// thread. On start it also finalizes clips a crash left half-written.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "catalog/catalog.hpp"
#include "record/clip_info.hpp"
#include "storage/object_store.hpp"

namespace lss::storage {

class Uploader {
 public:
  using ClipCallback = std::function<void(const catalog::ClipRecord&)>;
  // A failed attempt at storing `clip` (retried later with backoff): the
  // error and how many attempts failed in a row. Called on the uploader's
  // thread.
  using FailureCallback =
      std::function<void(const catalog::ClipRecord& clip, const std::string& error, int attempt)>;

  Uploader(std::string spool_dir, ObjectStore& store, catalog::Catalog& catalog,
           ClipCallback on_stored);
  ~Uploader();

  void start();
  void stop();
  void notify();  // a new clip is in the spool
  // Before start().
  void set_on_failed(FailureCallback on_failed) { on_failed_ = std::move(on_failed); }

  // One pass over the spool (the thread calls this; tests may too).
  // Returns how many clips were stored.
  size_t process_once();
  // Remuxes clips left as *.part by a crash into finished clips with sidecars.
  size_t recover_partial_clips();
  size_t pending() const { return pending_.load(); }
  // Clips in the spool right now (listed, not as of the last pass): a
  // draining server waits for this to reach 0. Any thread.
  size_t spooled() const { return spooled_sidecars().size(); }
  // For GET /metrics, from any thread: upload attempts that failed (each
  // retry counts), and when the oldest clip still waiting was written (as
  // of the last pass; nullopt when none waits).
  uint64_t failed_uploads() const { return failed_.load(std::memory_order_relaxed); }
  std::optional<std::filesystem::file_time_type> oldest_pending() const;

 private:
  // Fills `rec` as far as it got, for the failure callback.
  Status upload(const std::string& sidecar, catalog::ClipRecord& rec);
  // The sidecars (<clip>.json) of the finished clips in the spool, sorted.
  std::vector<std::string> spooled_sidecars() const;

  std::string spool_;
  ObjectStore& store_;
  catalog::Catalog& catalog_;
  ClipCallback on_stored_;
  FailureCallback on_failed_;
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, int>> backoff_;
  std::atomic<size_t> pending_{0};
  std::atomic<uint64_t> failed_{0};
  static constexpr auto kNone = std::numeric_limits<std::filesystem::file_time_type::rep>::min();
  std::atomic<std::filesystem::file_time_type::rep> oldest_{kNone};
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace lss::storage
