#pragma once
// One webhook receiver (a URL of WEBHOOK_URLS): its disk queue and the thread
// that delivers it, oldest first, one event at a time. A slow or dead
// receiver only ever holds back its own thread; event sources just append to
// the queue.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "webhook/disk_queue.hpp"

namespace lss::webhook {

class Receiver {
 public:
  Receiver(std::string url, std::string secret, std::unique_ptr<DiskQueue> queue);
  ~Receiver();

  void start();
  // Ends the delivery thread (a POST in progress is aborted); what is queued
  // stays on disk for the next start.
  void stop();
  // Durable on return; wakes the delivery thread.
  Status enqueue(std::string_view body);

  const std::string& url() const { return url_; }
  const std::string& secret() const { return secret_; }
  size_t queued() const { return queue_->size(); }

 private:
  void run();
  // Sleeps `delay` or until stop(); false when stopping.
  bool sleep_unless_stopped(std::chrono::milliseconds delay);

  const std::string url_;
  const std::string secret_;
  std::unique_ptr<DiskQueue> queue_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;  // enqueued since the thread last looked
  std::thread thread_;
};

}  // namespace lss::webhook
