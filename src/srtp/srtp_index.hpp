#pragma once
// SRTP packet index estimation (RFC 3711 §3.3.1, Appendix A). The index is
// ROC << 16 | SEQ; only SEQ travels, so the receiver (and a sender accepting
// out-of-order protect calls) guesses ROC from the highest index seen so far.
// This follows libsrtp2's srtp_rdbx_estimate_index / srtp_index_guess exactly,
// because both ends must agree on the ROC for the tag to verify.
#include <cstdint>

namespace lss {

struct SrtpIndexGuess {
  uint64_t index;  // estimated 48-bit packet index, ROC << 16 | SEQ
  int32_t delta;   // index - highest; > 0 means the packet is newer than any seen
};

// `highest` is the largest authenticated index of the stream (0 for a new stream).
constexpr SrtpIndexGuess estimate_srtp_index(uint64_t highest, uint16_t seq) {
  const int32_t s = seq;
  const int32_t local_seq = uint16_t(highest);
  // Until the stream has passed half of ROC 0, a guess of ROC - 1 would mean
  // ROC 0xffffffff; such a packet can only be a late one from ROC 0.
  if (highest <= 0x8000) return {seq, s - local_seq};
  const uint32_t roc = uint32_t(highest >> 16);
  if (local_seq < 0x8000) {
    if (s - local_seq > 0x8000) return {uint64_t(roc - 1) << 16 | seq, s - local_seq - 0x10000};
  } else if (local_seq - 0x8000 > s) {
    return {uint64_t(roc + 1) << 16 | seq, s - local_seq + 0x10000};
  }
  return {uint64_t(roc) << 16 | seq, s - local_seq};
}

}  // namespace lss
