// SendSideBwe driven through a simulated path: a sender that paces 1200-byte
// packets at the estimator's target rate (or a probe cluster's rate), a
// drop-tail bottleneck of given capacity and queue size with a base delay
// and optional random loss, and a receiver that reports arrivals the way a
// browser does (every sequence number from the last reported one to the
// newest received, losses included) every 50-100 ms, through the real RTCP
// builder and parser. Simulated time, seeded RNG: every run is the same.
// LSS_CC_TRACE=1 prints the trace.
#include "cc/send_side_bwe.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "rtp/rtcp_packets.hpp"

namespace lss::cc {
namespace {

using std::chrono::microseconds;

const Timestamp kT0 = Timestamp{} + std::chrono::hours(1);
Timestamp at_us(int64_t us) {
  return kT0 + microseconds(us);
}

// splitmix64: the same numbers on every platform (std distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) / double(1ull << 53); }

 private:
  uint64_t s_;
};

// A drop-tail bottleneck: packets queue behind each other and leave at the
// capacity; a packet that does not fit in the queue is dropped.
class Bottleneck {
 public:
  Bottleneck(double capacity_bps, size_t queue_bytes, int64_t base_delay_us)
      : capacity_bps_(capacity_bps), queue_bytes_(queue_bytes), base_delay_us_(base_delay_us) {}
  void set_capacity(double bps) { capacity_bps_ = bps; }
  double capacity() const { return capacity_bps_; }
  // Arrival time at the receiver, or nothing when the queue is full.
  std::optional<int64_t> send(int64_t t_us, size_t bytes) {
    const int64_t backlog_us = std::max<int64_t>(0, busy_until_us_ - t_us);
    const double backlog_bytes = double(backlog_us) * capacity_bps_ / 8e6;
    if (backlog_bytes + double(bytes) > double(queue_bytes_)) return std::nullopt;
    busy_until_us_ = std::max(busy_until_us_, t_us) + int64_t(double(bytes) * 8e6 / capacity_bps_);
    return busy_until_us_ + base_delay_us_;
  }
  double queue_delay_ms(int64_t t_us) const {
    return double(std::max<int64_t>(0, busy_until_us_ - t_us)) / 1000.0;
  }

 private:
  double capacity_bps_;
  size_t queue_bytes_;
  int64_t base_delay_us_;
  int64_t busy_until_us_ = 0;
};

// The viewer's side of transport-cc: each feedback covers every sequence
// number from the first not yet reported to the newest received, lost ones
// included (as libwebrtc's receiver does), with arrival deltas in 250 µs.
class TwccReceiver {
 public:
  void record(int64_t seq, int64_t arrival_us) { arrivals_.push_back({seq, arrival_us}); }

  // Feedback packets (RTCP bytes) for everything received since the last call.
  std::vector<Bytes> build() {
    std::vector<Bytes> out;
    while (!arrivals_.empty()) {
      TransportCcFeedback fb;
      fb.sender_ssrc = 1;
      fb.media_ssrc = 2;
      fb.feedback_count = count_++;
      const int64_t base = next_ < 0 ? arrivals_.front().seq : next_;
      fb.base_seq = uint16_t(base);
      fb.reference_time = int32_t((arrivals_.front().arrival_us / 64'000) & 0xFFFFFF);
      int64_t prev_us = (arrivals_.front().arrival_us / 64'000) * 64'000;
      int64_t seq = base;
      while (!arrivals_.empty() && fb.packets.size() < 500) {
        const Arrival a = arrivals_.front();
        if (a.seq < seq) {  // older than reported: drop (cannot happen with a FIFO link)
          arrivals_.pop_front();
          continue;
        }
        if (a.seq > seq) {
          fb.packets.push_back({uint16_t(seq++), false, 0});
          continue;
        }
        const int64_t delta = (a.arrival_us - prev_us) / 250;
        fb.packets.push_back({uint16_t(seq++), true, int32_t(delta)});
        prev_us += delta * 250;
        arrivals_.pop_front();
      }
      fb.status_count = uint16_t(fb.packets.size());
      next_ = seq;
      Bytes b;
      build_transport_cc(fb, b);
      out.push_back(std::move(b));
    }
    return out;
  }

 private:
  struct Arrival {
    int64_t seq, arrival_us;
  };
  std::deque<Arrival> arrivals_;
  int64_t next_ = -1;
  uint8_t count_ = 0;
};

struct Scenario {
  BweConfig config;
  std::function<double(double t_s)> capacity_bps;  // of the bottleneck at time t
  size_t queue_bytes = 60'000;
  int64_t one_way_delay_us = 25'000;
  double random_loss = 0;  // after the bottleneck, independent of the rate
  uint16_t first_seq = 0;  // transport-wide sequence number of the first packet
  uint64_t seed = 1;
  // Called every 100 ms, as sfu/ would: e.g. to ask for probes.
  std::function<void(double t_s, SendSideBwe&, Timestamp now)> every_100ms;
  // A pacer whose worker sends late (busy elsewhere, descheduled): how late
  // a packet planned at `planned_us` leaves. Packets keep their order.
  std::function<int64_t(int64_t planned_us)> late_by_us;
  bool report_release = true;  // on_packet_released() with the real send time
  // An application-limited sender, as an SFU is: it sends what the source
  // gives at time t (a layer's rate, which may be far below the estimate)
  // instead of the target, and every keyframe_every_s a keyframe of
  // keyframe_bytes paced at 2.5x the target. Unset: always the target.
  std::function<double(double t_s)> media_bps;
  double keyframe_every_s = 0;
  size_t keyframe_bytes = 0;
};

struct Sample {
  double t_s;
  double target_bps, capacity_bps, queue_ms, acked_bps;
  BandwidthUsage state;
  double trend, threshold, loss;
};

class Simulation {
 public:
  explicit Simulation(Scenario s)
      : s_(std::move(s)),
        bwe_(s_.config),
        link_(s_.capacity_bps(0), s_.queue_bytes, s_.one_way_delay_us),
        rng_(s_.seed),
        seq_(s_.first_seq) {}

  SendSideBwe& bwe() { return bwe_; }
  const std::vector<Sample>& samples() const { return samples_; }
  uint64_t packets_sent() const { return packets_sent_; }

  void run_until(double end_s) {
    const int64_t end_us = int64_t(end_s * 1e6);
    for (; t_us_ <= end_us; t_us_ += 1000) tick();
  }

  // Samples with t in [from, to).
  std::vector<Sample> between(double from, double to) const {
    std::vector<Sample> out;
    for (const Sample& s : samples_) {
      if (s.t_s >= from && s.t_s < to) out.push_back(s);
    }
    return out;
  }

 private:
  void tick() {
    const Timestamp now = at_us(t_us_);
    const double t_s = double(t_us_) / 1e6;
    link_.set_capacity(s_.capacity_bps(t_s));

    // Receiver: arrivals, then feedback every 50-100 ms on the return path.
    while (!in_flight_.empty() && in_flight_.front().arrival_us <= t_us_) {
      receiver_.record(in_flight_.front().seq, in_flight_.front().arrival_us);
      in_flight_.pop_front();
    }
    if (t_us_ >= next_feedback_us_) {
      for (Bytes& b : receiver_.build()) {
        feedback_.push_back({t_us_ + s_.one_way_delay_us, std::move(b)});
      }
      next_feedback_us_ = t_us_ + 50'000 + int64_t(rng_.next() % 50'001);
    }
    while (!feedback_.empty() && feedback_.front().at_us <= t_us_) {
      for_each_rtcp(feedback_.front().bytes, [&](const RtcpPacket& p) {
        if (auto* fb = std::get_if<TransportCcFeedback>(&p)) bwe_.on_transport_feedback(*fb, now);
      });
      feedback_.pop_front();
    }
    if (t_us_ % 1'000'000 == 500'000) {  // an RR's RTT once a second
      const double rtt_ms = 2 * double(s_.one_way_delay_us) / 1000.0 + link_.queue_delay_ms(t_us_);
      bwe_.on_rtt(microseconds(int64_t(rtt_ms * 1000)), now);
    }
    if (t_us_ % 100'000 == 0) {
      if (s_.every_100ms) s_.every_100ms(t_s, bwe_, now);
      samples_.push_back({t_s, double(bwe_.target_bps()), link_.capacity(),
                          link_.queue_delay_ms(t_us_), double(bwe_.acked_bps()),
                          bwe_.stats().delay_state, bwe_.stats().delay_trend,
                          bwe_.stats().delay_threshold, bwe_.stats().loss_fraction});
    }

    // Sender: paced packets at the target rate, or at a probe cluster's.
    if (!probe_) {
      probe_ = bwe_.probe_to_send(now);
      probe_bytes_ = 0;
      probe_packets_ = 0;
    }
    if (s_.keyframe_every_s > 0 && t_us_ >= next_keyframe_us_) {
      keyframe_left_ = s_.keyframe_bytes;
      next_keyframe_us_ = t_us_ + int64_t(s_.keyframe_every_s * 1e6);
    }
    if (next_send_us_ < t_us_ - 1000) next_send_us_ = t_us_;  // no catching up after idling
    while (next_send_us_ <= t_us_) {
      const size_t size = 1200;
      const int cluster = probe_ ? probe_->id : SendSideBwe::kNoProbe;
      bwe_.on_packet_sent(uint16_t(seq_), size, at_us(next_send_us_), cluster);
      int64_t sent_us = next_send_us_;
      if (s_.late_by_us) {
        sent_us = std::max(last_sent_us_, next_send_us_ + s_.late_by_us(next_send_us_));
        if (s_.report_release) bwe_.on_packet_released(uint16_t(seq_), at_us(sent_us));
      }
      last_sent_us_ = sent_us;
      ++packets_sent_;
      if (auto arrival = link_.send(sent_us, size)) {
        if (s_.random_loss == 0 || rng_.uniform() >= s_.random_loss) {
          in_flight_.push_back({*arrival, seq_});
        }
      }
      ++seq_;
      double rate = double(bwe_.target_bps());
      if (probe_) {
        rate = double(probe_->bps);
      } else if (keyframe_left_ > 0) {
        rate = 2.5 * double(bwe_.target_bps());
        keyframe_left_ -= std::min(keyframe_left_, size);
      } else if (s_.media_bps) {
        rate = s_.media_bps(t_s);
      }
      next_send_us_ += int64_t(double(size) * 8e6 / rate);
      if (probe_) {
        probe_bytes_ += size;
        ++probe_packets_;
        if (probe_bytes_ >= probe_->min_bytes && probe_packets_ >= probe_->min_packets) {
          probe_.reset();
        }
      }
    }
  }

  struct InFlight {
    int64_t arrival_us;
    int64_t seq;  // unwrapped; the wire carries its low 16 bits
  };
  struct Feedback {
    int64_t at_us;
    Bytes bytes;
  };

  Scenario s_;
  SendSideBwe bwe_;
  Bottleneck link_;
  TwccReceiver receiver_;
  Rng rng_;
  int64_t seq_;
  int64_t t_us_ = 0, next_send_us_ = 0, next_feedback_us_ = 50'000, last_sent_us_ = 0;
  int64_t next_keyframe_us_ = 0;
  size_t keyframe_left_ = 0;
  std::deque<InFlight> in_flight_;
  std::deque<Feedback> feedback_;
  std::optional<ProbeCluster> probe_;
  size_t probe_bytes_ = 0;
  int probe_packets_ = 0;
  uint64_t packets_sent_ = 0;
  std::vector<Sample> samples_;
};

void trace(const char* name, const Simulation& sim) {
  if (!std::getenv("LSS_CC_TRACE")) return;
  for (const Sample& s : sim.samples()) {
    std::printf(
        "%s t=%5.1f cap=%7.0fk target=%7.0fk acked=%7.0fk queue=%6.1fms %s trend=%.1f/%.1f "
        "loss=%.3f\n",
        name, s.t_s, s.capacity_bps / 1e3, s.target_bps / 1e3, s.acked_bps / 1e3, s.queue_ms,
        to_string(s.state), s.trend, s.threshold, s.loss);
  }
}

double min_target(const std::vector<Sample>& v) {
  double m = 1e18;
  for (const Sample& s : v) m = std::min(m, s.target_bps);
  return m;
}
double max_target(const std::vector<Sample>& v) {
  double m = 0;
  for (const Sample& s : v) m = std::max(m, s.target_bps);
  return m;
}
double mean_target(const std::vector<Sample>& v) {
  double sum = 0;
  for (const Sample& s : v) sum += s.target_bps;
  return v.empty() ? 0 : sum / double(v.size());
}
double max_queue_ms(const std::vector<Sample>& v) {
  double m = 0;
  for (const Sample& s : v) m = std::max(m, s.queue_ms);
  return m;
}
double mean_queue_ms(const std::vector<Sample>& v) {
  double sum = 0;
  for (const Sample& s : v) sum += s.queue_ms;
  return v.empty() ? 0 : sum / double(v.size());
}
// First sample time at or after `from` where `pred` holds, or -1.
double first_time(const std::vector<Sample>& v, double from,
                  const std::function<bool(const Sample&)>& pred) {
  for (const Sample& s : v) {
    if (s.t_s >= from && pred(s)) return s.t_s;
  }
  return -1;
}

Scenario fixed_link(double capacity_bps, uint64_t start_bps) {
  Scenario s;
  s.config.start_bps = start_bps;
  s.capacity_bps = [capacity_bps](double) { return capacity_bps; };
  return s;
}

// (1) A fixed 1 Mbit/s link from a 300 kbit/s start.
TEST(SendSideBweSim, ConvergesOnFixedLinkAndStays) {
  Simulation sim(fixed_link(1e6, 300'000));
  sim.run_until(60);
  trace("fixed", sim);
  const double converged =
      first_time(sim.samples(), 0, [](const Sample& s) { return s.target_bps >= 0.7e6; });
  ASSERT_GE(converged, 0);
  EXPECT_LE(converged, 10.0);
  const auto after = sim.between(10, 60);
  EXPECT_GE(min_target(after), 0.70e6);
  EXPECT_LE(max_target(after), 1.05e6);
  EXPECT_LT(mean_queue_ms(after), 100);
}

// (2) 2.5 Mbit/s dropping to 1 Mbit/s at t=20 s.
TEST(SendSideBweSim, FollowsCapacityDrop) {
  Scenario s;
  s.config.start_bps = 1'000'000;
  s.capacity_bps = [](double t) { return t < 20 ? 2.5e6 : 1e6; };
  Simulation sim(s);
  sim.run_until(40);
  trace("drop", sim);
  // Before the drop it had found most of the 2.5 Mbit/s.
  EXPECT_GE(mean_target(sim.between(12, 20)), 0.7 * 2.5e6);
  const double fell =
      first_time(sim.samples(), 20, [](const Sample& x) { return x.target_bps < 1.05e6; });
  ASSERT_GE(fell, 0);
  EXPECT_LE(fell, 22.0);
  // The queue the drop built (it fills the 480 ms drop-tail buffer within
  // the first second) drains within a few seconds and stays short.
  EXPECT_LT(mean_queue_ms(sim.between(20, 40)), 100);
  EXPECT_LT(max_queue_ms(sim.between(25, 40)), 50);
  // Then it settles into the same sawtooth as on a fixed 1 Mbit/s link.
  EXPECT_GE(min_target(sim.between(26, 40)), 0.7e6);
  EXPECT_LE(max_target(sim.between(26, 40)), 1.06e6);
}

// (3) Recovery from 1 to 2.5 Mbit/s at t=20 s. sfu/ asks for a probe as it
// would before switching a layer up: every 3 s, at 1.5x the target (the
// source offers 4 Mbit/s).
Scenario recovery(bool probing) {
  Scenario s;
  s.config.start_bps = 1'000'000;
  s.capacity_bps = [](double t) { return t < 20 ? 1e6 : 2.5e6; };
  if (probing) {
    s.every_100ms = [](double t, SendSideBwe& bwe, Timestamp now) {
      if (int64_t(t * 10) % 30 == 0) {
        bwe.request_probe(std::min<uint64_t>(4'000'000, bwe.target_bps() * 3 / 2), now);
      }
    };
  }
  return s;
}

double recovery_time(const Simulation& sim) {
  const double t =
      first_time(sim.samples(), 20, [](const Sample& x) { return x.target_bps >= 0.8 * 2.5e6; });
  return t < 0 ? 1e9 : t - 20;
}

TEST(SendSideBweSim, RecoversWhenCapacityReturns) {
  Simulation probed(recovery(true));
  probed.run_until(45);
  trace("recover", probed);
  Simulation unprobed(recovery(false));
  unprobed.run_until(45);
  trace("recover-noprobe", unprobed);

  EXPECT_LE(max_target(probed.between(10, 20)), 1.05e6);
  EXPECT_LE(recovery_time(probed), 15.0);
  EXPECT_LE(recovery_time(unprobed), 15.0);                       // AIMD alone gets there too...
  EXPECT_LT(recovery_time(probed), recovery_time(unprobed) / 2);  // ...probes much sooner
  EXPECT_GE(mean_target(probed.between(35, 45)), 0.7 * 2.5e6);
  EXPECT_LT(mean_queue_ms(probed.between(20, 45)), 50);
  EXPECT_GT(probed.bwe().stats().last_probe_bps, 1'500'000u);
}

// (4) 5 % random loss that has nothing to do with the rate.
TEST(SendSideBweSim, RandomLossDoesNotCollapse) {
  Scenario s = fixed_link(2e6, 300'000);
  s.random_loss = 0.05;
  Simulation sim(s);
  sim.run_until(40);
  trace("loss5", sim);
  EXPECT_GE(min_target(sim.between(10, 40)), 0.5 * 2e6);
}

// (4b) 10 % random loss on an uncongested path (a lossy radio link): no
// queue builds, so the loss is the path's own and the estimate stays near
// what the link carries instead of sinking by a cut every other second.
TEST(SendSideBweSim, TenPercentRandomLossWithoutQueueHolds) {
  Scenario s = fixed_link(5e6, 1'000'000);
  s.random_loss = 0.10;
  s.seed = 9;
  Simulation sim(s);
  sim.run_until(60);
  trace("loss10", sim);
  // Up to what a 2.5 Mbit/s publisher sends within 15 s, and it stays
  // there: it meets the link's queue now and then (the delay detector then
  // lets the loss count for a few seconds), but never sinks for long.
  const double reached =
      first_time(sim.samples(), 0, [](const Sample& x) { return x.target_bps >= 2.5e6; });
  ASSERT_GE(reached, 0);
  EXPECT_LE(reached, 15.0);
  EXPECT_GE(mean_target(sim.between(15, 60)), 0.6 * 5e6);
  EXPECT_GE(min_target(sim.between(15, 60)), 0.4 * 5e6);
}

// (4c) As (4b), from a pacer whose worker falls behind: each second it
// sends later and later, up to 60 ms behind the planned times (a machine
// too busy for it), then catches up at once. Told the real send times, the
// estimator sees no queue in that lateness and holds as in (4b). With the
// planned times it took the growing lateness for a queue building on the
// path and cut again and again: to ~5 % of the link (LSS_CC_TRACE shows it;
// mean 0.25 Mbit/s from 15 s on, against 3.8 with the real times).
TEST(SendSideBweSim, ALateWorkerIsNotAQueueOnThePath) {
  Scenario s = fixed_link(5e6, 1'000'000);
  s.random_loss = 0.10;
  s.seed = 9;
  s.late_by_us = [](int64_t planned_us) { return (planned_us % 1'000'000) * 6 / 100; };
  Simulation sim(s);
  sim.run_until(60);
  trace("late", sim);
  EXPECT_GE(mean_target(sim.between(15, 60)), 0.6 * 5e6);
  EXPECT_GE(min_target(sim.between(15, 60)), 0.4 * 5e6);
}

// (4d) An application-limited sender (an SFU viewer on a layer far below
// what the path carries): the source gives 500 kbit/s, then only 100 for
// ten seconds (a still scene), then 500 again, with a keyframe every 3 s
// paced at 2.5x the estimate, on a 1 Mbit/s link with a short queue, so
// each keyframe overruns the link for a moment. The path carries 1 Mbit/s
// all along, and the estimate should stay near that. GCC's rule, made for
// senders that fill the estimate, cut it at such a burst to 85 % of the
// filtered acknowledged rate, the still scene's ~120 kbit/s, several times
// over (the rate below half the estimate let it cut again at once), and
// took that for the link's capacity, so it crept back at ~10 kbit/s a
// second: 105 kbit/s at the lowest, and the 500 kbit/s layer out of reach
// for 20 s after the scene moved again. Now a cut goes no lower than the
// rate the packets arrived at while the queue built (the link's), nor
// below half the estimate, and an app-limited sender is cut at most every
// 500 ms, without a capacity sample.
Scenario app_limited_source() {
  Scenario s = fixed_link(1e6, 1'000'000);
  s.queue_bytes = 30'000;
  s.media_bps = [](double t) { return t >= 10 && t < 20 ? 100e3 : 500e3; };
  s.keyframe_every_s = 3;
  s.keyframe_bytes = 30'000;
  return s;
}

TEST(SendSideBweSim, AnAppLimitedSenderKeepsItsEstimate) {
  Simulation sim(app_limited_source());
  sim.run_until(40);
  trace("app_limited", sim);
  EXPECT_GE(min_target(sim.between(5, 10)), 0.7e6);
  // While the source is still: at most one halving.
  EXPECT_GE(min_target(sim.between(10, 20)), 0.4e6);
  // When it moves again, the 500 kbit/s layer fits within seconds.
  EXPECT_GE(min_target(sim.between(24, 40)), 0.5e6);
  EXPECT_LE(max_target(sim.between(5, 40)), 1.1e6);
}

// (4e) ...but a path that really carries less than the app-limited sender
// sends is still found within seconds: the link drops to 80 kbit/s while
// the source gives 100 (halvings every 500 ms until the estimate is within
// 2x of what is sent, then the usual cut).
TEST(SendSideBweSim, AnAppLimitedSenderStillFollowsACapacityDrop) {
  Scenario s = app_limited_source();
  s.capacity_bps = [](double t) { return t < 12 ? 1e6 : 80e3; };
  Simulation sim(s);
  sim.run_until(20);
  trace("app_limited_drop", sim);
  const double fell =
      first_time(sim.samples(), 12, [](const Sample& x) { return x.target_bps < 100e3; });
  ASSERT_GE(fell, 0);
  EXPECT_LE(fell, 15.0);
}

// (5) 25 % loss: beyond what a path's own loss is taken to be, so the
// loss-based controller backs off (by 12.5 % per loss window of a second),
// and it is what limits the rate, not the delay.
TEST(SendSideBweSim, HeavyLossBacksOff) {
  Scenario s = fixed_link(2e6, 1'000'000);
  s.random_loss = 0.25;
  Simulation sim(s);
  sim.run_until(30);
  trace("loss25", sim);
  EXPECT_LT(max_target(sim.between(15, 30)), 0.5 * 2e6);
  EXPECT_LT(sim.bwe().target_bps(), 0.25 * 2e6);
  const SendSideBwe::Stats st = sim.bwe().stats();
  EXPECT_LT(st.loss_based_bps, st.delay_based_bps);
  EXPECT_EQ(st.target_bps, st.loss_based_bps);
}

// (5b) Congestion on a link whose queue overflows: the delay detector sees
// the queue first, so the loss that follows counts as congestion at the
// usual 10 %, even with 8 % of the path's own loss on top.
TEST(SendSideBweSim, LossWithQueueingStillCuts) {
  Scenario s = fixed_link(1e6, 3'000'000);
  s.queue_bytes = 30'000;
  s.random_loss = 0.08;
  Simulation sim(s);
  sim.run_until(40);
  trace("queue_loss8", sim);
  EXPECT_LE(mean_target(sim.between(20, 40)), 1.1e6);
}

// (5c) A policer: no queue to show delay, only loss once the rate passes
// the limit. The loss soon exceeds a path's own and the rate comes down
// near the limit; it overshoots by at most what a path's own loss allows.
TEST(SendSideBweSim, PolicerWithoutQueueIsFoundByLoss) {
  Scenario s = fixed_link(1e6, 3'000'000);
  s.queue_bytes = 3'600;
  Simulation sim(s);
  sim.run_until(40);
  trace("policer", sim);
  EXPECT_LE(mean_target(sim.between(15, 40)), 1.3e6);
  EXPECT_GE(mean_target(sim.between(15, 40)), 0.6e6);
}

// (6) A viewer that sends only REMB (no transport-cc): the estimate follows
// its REMB, down at once and up at once (it is the viewer's own estimate),
// still cut by heavy loss in its RRs, and asks for no probes.
TEST(SendSideBwe, RembOnlyFollowsRemb) {
  SendSideBwe bwe;
  Timestamp now = kT0;
  uint16_t seq = 0;
  auto step = [&](uint64_t remb, uint8_t rr_loss) {
    for (int i = 0; i < 10; ++i) {  // 1 s: packets, a REMB every 100 ms, an RR
      now += milliseconds(100);
      for (int k = 0; k < 10; ++k) bwe.on_packet_sent(seq++, 1200, now);
      bwe.on_remb(remb, now);
    }
    bwe.on_loss_report(rr_loss, now);
  };
  step(800'000, 0);
  EXPECT_EQ(bwe.target_bps(), 800'000u);
  step(2'500'000, 0);
  EXPECT_EQ(bwe.target_bps(), 2'500'000u);
  step(400'000, 0);
  EXPECT_EQ(bwe.target_bps(), 400'000u);
  step(10, 0);  // below the floor
  EXPECT_EQ(bwe.target_bps(), 30'000u);
  step(1'200'000, 0);
  EXPECT_EQ(bwe.target_bps(), 1'200'000u);
  step(1'200'000, 64);  // 25 % loss in the RR: below the REMB now
  EXPECT_LT(bwe.target_bps(), 1'200'000u * 9 / 10);
  EXPECT_EQ(bwe.stats().remb_bps, 1'200'000u);
  EXPECT_EQ(bwe.stats().delay_based_bps, 0u);
  bwe.request_probe(5'000'000, now);
  EXPECT_FALSE(bwe.probe_to_send(now + seconds(1)));  // neither the request nor the initial ones
}

// A viewer with neither transport-cc nor REMB: GCC's loss-based estimate
// alone, from the start rate: grows by ~8 %/s without loss, holds at 5 %,
// backs off at 20 %.
TEST(SendSideBwe, RrOnlyIsLossBased) {
  BweConfig c;
  c.start_bps = 500'000;
  SendSideBwe bwe(c);
  Timestamp now = kT0;
  EXPECT_EQ(bwe.target_bps(), 500'000u);
  for (int i = 0; i < 10; ++i) bwe.on_loss_report(0, now += seconds(1));
  EXPECT_NEAR(double(bwe.target_bps()), 500'000 * std::pow(1.08, 9), 20'000);
  const uint64_t before = bwe.target_bps();
  for (int i = 0; i < 5; ++i) bwe.on_loss_report(13, now += seconds(1));  // 5 %
  EXPECT_EQ(bwe.target_bps(), before);
  bwe.on_loss_report(51, now += seconds(1));  // 20 %
  EXPECT_NEAR(double(bwe.target_bps()), double(before) * 0.9, 5'000);
}

// (7) The transport-wide sequence number wraps in the middle of the run
// (after ~21 s) without the estimate noticing.
TEST(SendSideBweSim, SequenceWrapAround) {
  Scenario s = fixed_link(2.5e6, 1'000'000);
  s.first_seq = 60'000;
  Simulation sim(s);
  sim.run_until(40);
  trace("wrap", sim);
  ASSERT_GT(sim.packets_sent(), 65'536u - 60'000u + 2'000u);  // well past the wrap
  EXPECT_GE(min_target(sim.between(10, 40)), 0.7 * 2.5e6);
  EXPECT_LE(max_target(sim.between(10, 40)), 1.05 * 2.5e6);
  EXPECT_EQ(sim.bwe().stats().ignored_feedback_entries, 0u);
  // The same run without the wrap estimates the same.
  Simulation plain(fixed_link(2.5e6, 1'000'000));
  plain.run_until(40);
  EXPECT_NEAR(mean_target(sim.between(10, 40)), mean_target(plain.between(10, 40)), 0.1 * 2.5e6);
}

}  // namespace
}  // namespace lss::cc
