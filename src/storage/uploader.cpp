#include "storage/uploader.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/durable_file.hpp"
#include "common/iso8601.hpp"
#include "record/clip_writer.hpp"

namespace lss::storage {
namespace fs = std::filesystem;

namespace {
constexpr auto kIdleWait = std::chrono::seconds(5);
constexpr int kMaxBackoffSeconds = 60;

}  // namespace

Uploader::Uploader(std::string spool_dir, ObjectStore& store, catalog::Catalog& catalog,
                   ClipCallback on_stored)
    : spool_(std::move(spool_dir)),
      store_(store),
      catalog_(catalog),
      on_stored_(std::move(on_stored)) {}

Uploader::~Uploader() {
  stop();
}

void Uploader::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "uploader");
    if (size_t n = recover_partial_clips())
      spdlog::info("spool: recovered {} clip(s) left by a crash", n);
    for (;;) {
      process_once();
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, pending_ ? std::chrono::seconds(1) : kIdleWait,
                   [this] { return wake_ || stop_; });
      if (stop_) return;
      wake_ = false;
    }
  });
}

void Uploader::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Uploader::notify() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

size_t Uploader::recover_partial_clips() {
  size_t recovered = 0;
  std::error_code ec;
  if (!fs::exists(spool_, ec)) return 0;
  std::vector<fs::path> parts;
  for (auto it = fs::recursive_directory_iterator(spool_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".part") parts.push_back(it->path());
  }
  for (const auto& part : parts) {
    // spool/<name>/<start>-<id>/<index>.<ext>.part
    const fs::path final_path = part.parent_path() / part.stem();
    const std::string rel = fs::relative(final_path, spool_, ec).generic_string();
    record::ClipInfo info;
    const std::string dir = part.parent_path().filename().string();
    info.stream_name = part.parent_path().parent_path().filename().string();
    info.stream_id = dir.substr(dir.find('-') + 1);
    info.index = std::atoi(final_path.stem().string().c_str());
    info.object_key = rel;
    info.file = final_path.string();
    info.started_at = info.ended_at = iso8601_utc();
    auto st = record::remux_clip(part.string(), final_path.string());
    if (st.ok()) st = record::probe_clip(final_path.string(), info);
    if (!st.ok() || info.video_frames + info.audio_frames == 0) {
      spdlog::warn("spool: cannot recover {}: {}", part.string(),
                   st.ok() ? "no frames" : st.message());
      fs::rename(part, part.string() + ".broken", ec);
      fs::remove(final_path, ec);
      continue;
    }
    // Durably, before the leftover goes: remux_clip synced the clip.
    if (auto ws = write_file_durably(final_path.string() + ".json", record::to_json(info).dump(2));
        !ws) {
      spdlog::warn("spool: cannot recover {}: {}", part.string(), ws.message());
      continue;
    }
    fs::remove(part, ec);
    spdlog::info("spool: recovered {} ({:.1f} s)", rel, info.duration_s);
    ++recovered;
  }
  return recovered;
}

std::vector<std::string> Uploader::spooled_sidecars() const {
  std::vector<std::string> sidecars;
  std::error_code ec;
  if (fs::exists(spool_, ec)) {
    for (auto it = fs::recursive_directory_iterator(spool_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string p = it->path().string();
      if (it->is_regular_file() && p.size() > 5 && p.compare(p.size() - 5, 5, ".json") == 0)
        sidecars.push_back(p);
    }
  }
  std::sort(sidecars.begin(), sidecars.end());
  return sidecars;
}

size_t Uploader::process_once() {
  std::vector<std::string> sidecars = spooled_sidecars();
  pending_ = sidecars.size();
  size_t stored = 0;
  const auto now = std::chrono::steady_clock::now();
  auto oldest = fs::file_time_type::max();
  auto waiting = [&](const std::string& sc) {
    std::error_code err;
    const auto written = fs::last_write_time(sc, err);
    if (!err) oldest = std::min(oldest, written);
  };
  for (const auto& sc : sidecars) {
    auto b = backoff_.find(sc);
    if (b != backoff_.end() && now < b->second.first) {
      waiting(sc);
      continue;
    }
    catalog::ClipRecord rec;
    if (auto st = upload(sc, rec); st.ok()) {
      backoff_.erase(sc);
      ++stored;
      --pending_;
    } else {
      failed_.fetch_add(1, std::memory_order_relaxed);
      waiting(sc);
      // Exponential backoff with jitter, capped: keep trying forever.
      int& attempts = backoff_[sc].second;
      attempts = std::min(attempts + 1, 16);
      const int secs = std::min(kMaxBackoffSeconds, 1 << std::min(attempts, 6));
      backoff_[sc].first = now + std::chrono::milliseconds(secs * 1000 + std::rand() % 1000);
      spdlog::warn("spool: {} not stored yet (attempt {}, next in ~{} s): {}", sc, attempts, secs,
                   st.message());
      if (on_failed_) on_failed_(rec, st.message(), attempts);
    }
  }
  oldest_.store(oldest == fs::file_time_type::max() ? kNone : oldest.time_since_epoch().count(),
                std::memory_order_relaxed);
  return stored;
}

std::optional<fs::file_time_type> Uploader::oldest_pending() const {
  const auto t = oldest_.load(std::memory_order_relaxed);
  if (t == kNone) return std::nullopt;
  return fs::file_time_type(fs::file_time_type::duration(t));
}

Status Uploader::upload(const std::string& sidecar, catalog::ClipRecord& rec) {
  std::ifstream in(sidecar);
  std::stringstream text;
  text << in.rdbuf();
  const auto parsed = record::parse_sidecar(text.str());
  if (!parsed) {
    std::error_code ec;
    fs::rename(sidecar, sidecar + ".broken", ec);
    return make_error("unreadable sidecar (set aside as .broken)");
  }
  const record::ClipInfo& info = *parsed;
  const std::string clip_path = sidecar.substr(0, sidecar.size() - 5);
  rec.stream_id = info.stream_id;
  rec.stream_name = info.stream_name;
  rec.index = info.index;
  rec.started_at = info.started_at;
  rec.ended_at = info.ended_at;
  rec.duration = info.duration_s;
  rec.bytes = info.bytes;
  rec.video_codec = info.video_codec;
  rec.audio_codec = info.audio_codec;
  rec.width = info.width;
  rec.height = info.height;
  rec.object_key = info.object_key;
  rec.url = store_.url(info.object_key);
  std::error_code ec;
  const bool have_file = fs::exists(clip_path, ec);
  // 1. the object (skipped if a previous run already stored it and removed the file)
  if (have_file) {
    if (auto st = store_.put(info.object_key, clip_path); !st) return st;
  }
  // 2. the catalog record (idempotent)
  if (auto st = catalog_.add_clip(rec); !st) return st;
  // 3. the announcement, 4. the local copy goes
  if (on_stored_) on_stored_(rec);
  fs::remove(clip_path, ec);
  fs::remove(sidecar, ec);
  spdlog::info("clip stored: {} -> {}", info.object_key, rec.url);
  return {};
}

}  // namespace lss::storage
