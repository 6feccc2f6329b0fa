#pragma once
// A Catalog that passes every call to its backend and counts the writes that
// failed, for GET /metrics (lss_catalog_write_errors_total): one count for
// every backend, without each of them growing its own. Writes come from the
// control thread and the uploader's, reads of the count from the control
// thread: a relaxed atomic.
#include <atomic>
#include <memory>

#include "catalog/catalog.hpp"

namespace lss::catalog {

class CountingCatalog : public Catalog {
 public:
  explicit CountingCatalog(std::unique_ptr<Catalog> backend) : backend_(std::move(backend)) {}

  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

  Status upsert_stream(const StreamRecord& s) override {
    return counted(backend_->upsert_stream(s));
  }
  Status end_stream(const std::string& id, const std::string& ended_at, int peak_viewers) override {
    return counted(backend_->end_stream(id, ended_at, peak_viewers));
  }
  Status end_all_live(const std::string& ended_at) override {
    return counted(backend_->end_all_live(ended_at));
  }
  Status add_clip(const ClipRecord& c) override { return counted(backend_->add_clip(c)); }
  Result<std::vector<StreamRecord>> list_streams(const Page& page,
                                                 const std::string& status) override {
    return backend_->list_streams(page, status);
  }
  Result<std::optional<StreamRecord>> get_stream(const std::string& id) override {
    return backend_->get_stream(id);
  }
  Result<std::vector<ClipRecord>> list_clips(const std::string& stream, const std::string& since,
                                             const Page& page) override {
    return backend_->list_clips(stream, since, page);
  }

 private:
  Status counted(Status st) {
    if (!st) write_errors_.fetch_add(1, std::memory_order_relaxed);
    return st;
  }

  std::unique_ptr<Catalog> backend_;
  std::atomic<uint64_t> write_errors_{0};
};

}  // namespace lss::catalog
