#include "webhook/disk_queue.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/durable_file.hpp"
#include "webhook/event.hpp"
#include "webhook/queue_naming.hpp"

namespace lss::webhook {
namespace fs = std::filesystem;
Result<std::unique_ptr<DiskQueue>> DiskQueue::open(std::string dir, size_t max_events) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("cannot create " + dir + ": " + ec.message());
  std::unique_ptr<DiskQueue> q(new DiskQueue(dir, std::max<size_t>(max_events, 1)));
  std::vector<uint64_t> seqs;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (auto seq = parse_queue_file_name(name)) {
      seqs.push_back(*seq);
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      // A push a crash interrupted: never acknowledged, so never promised.
      std::error_code rm;
      fs::remove(it->path(), rm);
    }
  }
  if (ec) return make_error("cannot list " + dir + ": " + ec.message());
  std::sort(seqs.begin(), seqs.end());
  q->seqs_.assign(seqs.begin(), seqs.end());
  if (!seqs.empty()) q->next_seq_ = seqs.back() + 1;
  return q;
}

DiskQueue::DiskQueue(std::string dir, size_t max_events)
    : dir_(std::move(dir)), max_events_(max_events) {}

DiskQueue::~DiskQueue() = default;

std::string DiskQueue::path_of(uint64_t seq) const {
  return dir_ + "/" + queue_file_name(seq);
}

Status DiskQueue::push(std::string_view body) {
  // Under the lock: the order of the files is the order of the pushes.
  std::lock_guard lock(mu_);
  const uint64_t seq = next_seq_;
  // Written to .tmp, synced, renamed, folder synced: durable once acknowledged.
  if (auto st = write_file_durably(path_of(seq), body); !st) return st;
  ++next_seq_;
  seqs_.push_back(seq);
  while (seqs_.size() > max_events_) drop_oldest_locked();
  return {};
}

void DiskQueue::drop_oldest_locked() {
  const uint64_t seq = seqs_.front();
  seqs_.pop_front();
  std::error_code ec;
  fs::remove(path_of(seq), ec);
  // One line per thousand: a receiver that is gone for good would otherwise
  // turn every new event into a log line.
  if (dropped_++ % 1000 == 0) {
    spdlog::error("webhooks: queue {} is full ({} events): dropped the oldest ({} so far)", dir_,
                  max_events_, dropped_);
  }
}

std::optional<QueuedEvent> DiskQueue::front() {
  for (;;) {
    uint64_t seq;
    {
      std::lock_guard lock(mu_);
      if (seqs_.empty()) return std::nullopt;
      seq = seqs_.front();
    }
    // Read outside the lock: pushes (which fsync) need not wait for it.
    const std::string path = path_of(seq);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    std::string body = text.str();
    if (in && parse_event_body(body).ok()) return QueuedEvent{seq, std::move(body)};
    std::lock_guard lock(mu_);
    if (seqs_.empty() || seqs_.front() != seq) continue;  // dropped for the bound meanwhile
    seqs_.pop_front();
    if (!in) {
      spdlog::error("webhooks: queued event {} is gone, skipped", path);
    } else {
      std::error_code ec;
      fs::rename(path, path + ".corrupt", ec);
      spdlog::error("webhooks: queued event {} is not a whole event ({}), set aside as .corrupt",
                    path, parse_event_body(body).error().message);
    }
  }
}

void DiskQueue::pop(uint64_t seq) {
  std::lock_guard lock(mu_);
  auto it = std::find(seqs_.begin(), seqs_.end(), seq);
  if (it == seqs_.end()) return;  // dropped for the bound meanwhile
  seqs_.erase(it);
  // No fsync: should the deletion be lost, the event goes out again, which
  // at-least-once delivery allows.
  std::error_code ec;
  fs::remove(path_of(seq), ec);
}

size_t DiskQueue::size() const {
  std::lock_guard lock(mu_);
  return seqs_.size();
}

size_t DiskQueue::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace lss::webhook
