#include "cc/sent_rate.hpp"

#include <algorithm>

namespace lss::cc {

void SentRate::on_sent(int64_t at_us, size_t bytes) {
  if (at_us < 0) return;
  if (first_us_ < 0) first_us_ = at_us;
  const int64_t index = at_us / kBucketUs;
  Bucket& b = ring_[size_t(index % int64_t(kBuckets))];
  if (b.index != index) {
    if (b.index > index) return;  // older than the ring (a late pacer correction)
    b = {index, 0};
  }
  b.bytes += bytes;
  newest_index_ = std::max(newest_index_, index);
}

std::optional<uint64_t> SentRate::bps(int64_t end_us) const {
  if (first_us_ < 0 || end_us < first_us_) return std::nullopt;
  const int64_t last = end_us / kBucketUs;
  const int64_t first = last - int64_t(kWindowBuckets) + 1;
  // A bucket the ring has reused since is gone: the window is not kept.
  if (newest_index_ - first >= int64_t(kBuckets)) return std::nullopt;
  uint64_t bytes = 0;
  for (const Bucket& b : ring_) {
    if (b.index >= first && b.index <= last) bytes += b.bytes;
  }
  const int64_t window_start = std::max(first * kBucketUs, first_us_);
  const int64_t span_us = std::max<int64_t>(end_us - window_start, 100'000);
  return uint64_t(double(bytes) * 8e6 / double(span_us));
}

std::optional<uint64_t> SentRate::min_bps(int64_t now_us, int64_t lookback_us) const {
  std::optional<uint64_t> lowest;
  lookback_us = std::clamp<int64_t>(lookback_us, 0, 1'000'000);
  for (int64_t back = 0; back <= lookback_us; back += 100'000) {
    const std::optional<uint64_t> r = bps(now_us - back);
    if (r && (!lowest || *r < *lowest)) lowest = r;
  }
  return lowest;
}

}  // namespace lss::cc
