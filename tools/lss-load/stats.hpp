#pragma once
// Receive-side statistics kept per viewer track, and a fixed-bucket
// histogram for percentiles over millions of samples without storing them.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace lss::load {

// Fixed buckets: `fine` units wide below `split`, `coarse` wide up to
// `limit` (latency: 10 µs resolution where it matters, 1 ms up to a minute
// for an overloaded server). Larger values land in the last bucket and only
// move max().
class Histogram {
 public:
  Histogram(int64_t fine, int64_t split, int64_t coarse, int64_t limit)
      : fine_(fine),
        split_(split),
        coarse_(coarse),
        fine_buckets_(size_t(split / fine)),
        buckets_(fine_buckets_ + size_t((limit - split) / coarse) + 1, 0) {}
  void add(int64_t v) {
    if (v < 0) v = 0;
    const size_t i =
        v < split_ ? size_t(v / fine_)
                   : std::min(fine_buckets_ + size_t((v - split_) / coarse_), buckets_.size() - 1);
    ++buckets_[i];
    ++count_;
    max_ = std::max(max_, v);
    sum_ += double(v);
  }
  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / double(count_) : 0; }
  // Upper edge of the bucket holding the q-quantile (0..1), capped at max().
  int64_t quantile(double q) const {
    if (!count_) return 0;
    const uint64_t rank = std::max<uint64_t>(1, uint64_t(q * double(count_) + 0.5));
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return std::min(upper_edge(i), max_);
    }
    return max_;
  }

 private:
  int64_t upper_edge(size_t i) const {
    if (i < fine_buckets_) return int64_t(i + 1) * fine_;
    return split_ + int64_t(i - fine_buckets_ + 1) * coarse_;
  }
  int64_t fine_, split_, coarse_;
  size_t fine_buckets_;
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
};

// RFC 3550 A.1/A.8 style: extended sequence numbers for loss, interarrival
// jitter in RTP clock units.
struct TrackReceive {
  uint32_t clock_rate = 90000;
  bool started = false;
  uint32_t ssrc = 0;
  uint32_t base_ext = 0, max_ext = 0;
  uint64_t packets = 0, bytes = 0;
  double jitter = 0;  // RTP units
  int32_t last_transit = 0;

  void on_packet(uint32_t pkt_ssrc, uint16_t seq, uint32_t ts, uint32_t arrival_rtp, size_t size) {
    if (!started || pkt_ssrc != ssrc) {
      // A new SSRC restarts the accounting (the server keeps it stable).
      started = true;
      ssrc = pkt_ssrc;
      base_ext = max_ext = seq;
      last_transit = int32_t(arrival_rtp - ts);
    } else {
      const uint16_t max16 = uint16_t(max_ext);
      const int16_t delta = int16_t(uint16_t(seq - max16));
      if (delta > 0) max_ext += uint32_t(delta);
      const int32_t transit = int32_t(arrival_rtp - ts);
      const int32_t d = std::abs(transit - last_transit);
      last_transit = transit;
      jitter += (double(d) - jitter) / 16.0;
    }
    ++packets;
    bytes += size;
  }
  uint64_t expected() const { return started ? uint64_t(max_ext - base_ext) + 1 : 0; }
  uint64_t lost() const {
    const uint64_t e = expected();
    return e > packets ? e - packets : 0;
  }
  double jitter_ms() const { return jitter * 1000.0 / double(clock_rate); }
};

}  // namespace lss::load
