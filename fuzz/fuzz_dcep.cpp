// DCEP messages come from the remote browser on any stream (PPID 50): parse
// them, and check that whatever parses rebuilds to the very same bytes (the
// parser is strict, so the encoding is canonical).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "sctp/dcep.hpp"

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const lss::ByteSpan in(data, size);
  auto m = lss::sctp::parse_dcep(in);
  if (!m.ok()) return 0;
  check(size > 0);
  lss::Bytes rebuilt;
  if (const auto* open = std::get_if<lss::sctp::DataChannelOpen>(&*m)) {
    check(data[0] == 0x03);
    check(lss::sctp::is_valid_channel_type(uint8_t(open->channel_type)));
    check(open->label.size() + open->protocol.size() + 12 == size);
    auto built = lss::sctp::build_data_channel_open(*open);
    check(built.ok());
    rebuilt = std::move(*built);
  } else {
    check(size == 1 && data[0] == 0x02);
    rebuilt = lss::sctp::build_data_channel_ack();
  }
  check(rebuilt.size() == size && std::equal(rebuilt.begin(), rebuilt.end(), data));
  return 0;
}
