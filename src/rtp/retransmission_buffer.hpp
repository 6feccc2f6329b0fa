#pragma once
// Recent RTP packets by sequence number, to answer NACKs without asking the
// publisher. Fixed slots allocated once; storing and looking up never allocate.
#include <optional>
#include <vector>

#include "common/bytes.hpp"
#include "common/time.hpp"

namespace lss {

class RetransmissionBuffer {
 public:
  static constexpr size_t kSlotSize = 1500;

  explicit RetransmissionBuffer(size_t slots, Duration max_age = std::chrono::seconds(2));

  void store(ByteSpan packet, uint16_t seq, Timestamp now);
  // The packet stored under exactly `seq`, if still fresh; valid until the
  // slot is overwritten.
  std::optional<ByteSpan> get(uint16_t seq, Timestamp now) const;
  std::optional<ByteSpan> get(uint16_t seq) const;

 private:
  struct Slot {
    uint16_t seq = 0;
    uint16_t size = 0;
    bool used = false;
    Timestamp stored{};
  };
  std::vector<Slot> slots_;
  std::vector<uint8_t> data_;
  Duration max_age_;
};

}  // namespace lss
