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

#include "webhook/event.hpp"
#include "webhook/queue_naming.hpp"

namespace lss::webhook {
namespace fs = std::filesystem;
namespace {

Status write_all_and_sync(const std::string& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error("cannot create " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return make_error("cannot write " + path + ": " + why);
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return make_error("cannot fsync " + path + ": " + why);
  }
  ::close(fd);
  return {};
}

}  // namespace

Result<std::unique_ptr<DiskQueue>> DiskQueue::open(std::string dir, size_t max_events) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("cannot create " + dir + ": " + ec.message());
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error("cannot open " + dir + ": " + std::strerror(errno));
  std::unique_ptr<DiskQueue> q(new DiskQueue(dir, fd, std::max<size_t>(max_events, 1)));
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

DiskQueue::DiskQueue(std::string dir, int dir_fd, size_t max_events)
    : dir_(std::move(dir)), dir_fd_(dir_fd), max_events_(max_events) {}

DiskQueue::~DiskQueue() {
  ::close(dir_fd_);
}

std::string DiskQueue::path_of(uint64_t seq) const {
  return dir_ + "/" + queue_file_name(seq);
}

Status DiskQueue::push(std::string_view body) {
  // Under the lock: the order of the files is the order of the pushes.
  std::lock_guard lock(mu_);
  const uint64_t seq = next_seq_;
  const std::string path = path_of(seq);
  const std::string tmp = path + ".tmp";
  if (auto st = write_all_and_sync(tmp, body); !st) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::error_code ec;
    fs::remove(tmp, ec);
    return make_error("cannot rename " + tmp + ": " + why);
  }
  // The rename itself is durable only once the folder is synced.
  if (::fsync(dir_fd_) != 0)
    return make_error("cannot fsync " + dir_ + ": " + std::strerror(errno));
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
