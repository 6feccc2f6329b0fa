#include "rtp/nack_generator.hpp"

#include <algorithm>

namespace lss {

void NackGenerator::on_packet(uint16_t seq, Timestamp now) {
  if (!started_) {
    started_ = true;
    highest_ = seq;
    return;
  }
  const int16_t ahead = int16_t(uint16_t(seq - highest_));
  if (ahead <= 0) {
    remove(seq);  // a retransmission or a late packet filled its hole
    return;
  }
  if (ahead > int16_t(kMaxMissing)) {
    // A jump this large is a restart of the sequence, not loss worth asking for.
    table_ = {};
    count_ = 0;
  } else {
    for (uint16_t s = uint16_t(highest_ + 1); s != seq; ++s) add(s, now);
  }
  highest_ = seq;
}

void NackGenerator::add(uint16_t seq, Timestamp now) {
  Entry& e = table_[seq % kMaxMissing];
  if (!e.used) ++count_;
  e = {seq, true, 0, now};
}

void NackGenerator::remove(uint16_t seq) {
  Entry& e = table_[seq % kMaxMissing];
  if (e.used && e.seq == seq) {
    e.used = false;
    --count_;
  }
}

void NackGenerator::collect(Timestamp now, std::vector<uint16_t>& out) {
  if (count_ == 0) return;
  const Duration retry = retry_interval();
  for (Entry& e : table_) {
    if (!e.used || now < e.next) continue;
    // Entries far behind the newest packet are too old to be useful.
    if (uint16_t(highest_ - e.seq) >= kMaxMissing || e.tries >= kMaxTries) {
      e.used = false;
      --count_;
      continue;
    }
    out.push_back(e.seq);
    ++e.tries;
    e.next = now + retry;
  }
}

Duration NackGenerator::retry_interval() const {
  // A quarter on top of the round trip covers its jitter and the sender's pacing.
  return std::clamp(rtt_ + rtt_ / 4, retry_, std::max(retry_, kMaxRetryInterval));
}

}  // namespace lss
