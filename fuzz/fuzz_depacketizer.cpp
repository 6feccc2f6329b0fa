// RTP payloads from a publisher, as the recorder depacketizes them: the input
// is split into packets by a length byte, each with a marker bit.
#include <cstddef>
#include <cstdint>

#include "codec/depacketizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* kCodecs[] = {"VP8", "VP9", "H264", "AV1", "opus"};
  auto d = lss::codec::Depacketizer::create(kCodecs[data[0] % 5]);
  std::vector<lss::codec::EncodedFrame> out;
  size_t pos = 1;
  uint16_t seq = 0;
  while (pos < size) {
    const size_t n = std::min<size_t>(size - pos - 1, data[pos] & 0x7f);
    const bool marker = data[pos] & 0x80;
    d->push(seq++, uint32_t(seq / 3), marker, lss::ByteSpan(data + pos + 1, n), out);
    pos += 1 + n;
  }
  for (const auto& f : out) {
    if (f.data.size() > 1 << 20) __builtin_trap();
  }
  return 0;
}
