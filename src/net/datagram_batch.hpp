#pragma once
// The datagrams a media worker gathers while it handles a receive batch, and
// the sendmmsg messages they become. Three shapes (SEND_PATH):
//  - kPlain: one message per datagram, in the order they were added (with
//    SEND_PATH=plain the engine adds each packet's copy to every viewer,
//    then the next packet: WorkerPool::set_send_shape).
//  - kGrouped: one message per datagram, each destination's datagrams
//    together (a viewer gets the batch's packets back to back).
//  - kGso: grouped, and each run of a destination's consecutive datagrams of
//    one size (the last may be shorter) is one message with UDP_SEGMENT
//    (UDP GSO, Linux 4.18): the kernel's stack handles it once and cuts it
//    into datagrams at the device or in the NIC. A viewer's copies of a
//    frame's packets then cost about one datagram's trip through the stack
//    instead of one each (bench/RESULTS.md, "Send path").
// Allocation-free after construction: it is the forwarding hot path.
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "common/bytes.hpp"
#include "common/socket_address.hpp"

namespace lss::net {

enum class SendShape { kPlain, kGrouped, kGso };
// "plain", "grouped", "gso" (metrics and /api/stats).
const char* send_shape_name(SendShape shape);

class DatagramBatch {
 public:
  static constexpr size_t kSlots = 256;      // datagrams gathered before a send
  static constexpr size_t kSlotSize = 2048;  // the largest datagram gathered
  // UDP_MAX_SEGMENTS in Linux 4.18-6.x (newer kernels take more).
  static constexpr size_t kMaxSegments = 64;
  // One GSO message is one IP packet before it is cut: under 64 KiB with
  // the IPv6 and UDP headers.
  static constexpr size_t kMaxMessageBytes = 65000;
  static constexpr size_t kControl = 64;  // IPV6_PKTINFO and UDP_SEGMENT fit

  // `v6_socket`: the socket is dual-stack IPv6 (IPv4 peers v4-mapped).
  explicit DatagramBatch(bool v6_socket);
  DatagramBatch(const DatagramBatch&) = delete;
  DatagramBatch& operator=(const DatagramBatch&) = delete;

  // Copies `data`, to go to `to` (UDP, reachable from the socket's family)
  // from `source` (16 bytes, IPv6 or v4-mapped; null: the kernel chooses).
  // False, and nothing added, when the batch is full or `data` does not
  // fit a slot.
  // When `data` starts at spare(), it is not copied: the spare buffer
  // becomes the slot, and the slot's buffer the next spare.
  bool add(ByteSpan data, const SocketAddress& to, const uint8_t* source);
  // A kSlotSize buffer outside the slots, to build the next datagram in:
  // the engine encrypts a viewer's copy there, and add() takes it as it is.
  // Stays valid (and not reused by add()) until a datagram starting at it is
  // added.
  uint8_t* spare() { return spare_; }
  size_t size() const { return count_; }
  bool full() const { return count_ == kSlots; }

  // The messages for sendmmsg, valid until clear() or the next add().
  std::span<mmsghdr> messages(SendShape shape);
  // Datagrams and bytes in message `i` of the last messages() call (one
  // iovec per datagram).
  size_t datagrams(size_t i) const { return msgs_[i].msg_hdr.msg_iovlen; }
  size_t bytes(size_t i) const;
  // Message `i` of the last messages() call as one message per datagram,
  // for when the kernel refuses its GSO form; valid until the next call.
  std::span<mmsghdr> split(size_t i);

  void clear();

 private:
  union Addr {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  struct Slot {
    SocketAddress to;
    Addr addr;
    socklen_t addr_len = 0;
    uint16_t size = 0;
    bool has_source = false;
    std::array<uint8_t, 16> source{};
    int32_t next = -1;  // the same destination's next slot
  };
  // Fills message `m` for the datagrams of slots in iovs_[first, first+n).
  void fill(mmsghdr& m, uint8_t* control, const Slot& s, size_t first_iov, size_t n,
            size_t segment);
  int32_t group_of(const SocketAddress& to, size_t hash);

  bool v6_;
  // (kSlots + 1) * kSlotSize, pages touched as used; slot i's buffer is
  // buffer_[i], and one more is the spare.
  std::unique_ptr<uint8_t[]> data_;
  std::array<uint8_t*, kSlots> buffer_{};
  uint8_t* spare_ = nullptr;
  std::unique_ptr<Slot[]> slots_;
  size_t count_ = 0;
  // Destinations of the gathered datagrams, in order of first appearance:
  // their first and last slots. A hash table (linear probing, twice
  // kSlots, entries valid for the current generation only) finds them.
  struct Group {
    int32_t head, tail;
  };
  std::unique_ptr<Group[]> groups_;
  size_t group_count_ = 0;
  struct Entry {
    uint32_t generation;
    int32_t group;
  };
  static constexpr size_t kTable = 2 * kSlots;
  std::unique_ptr<Entry[]> table_;
  uint32_t generation_ = 1;
  // What messages() and split() built.
  std::unique_ptr<mmsghdr[]> msgs_;
  std::unique_ptr<iovec[]> iovs_;
  std::unique_ptr<uint8_t[]> controls_;
  std::unique_ptr<int32_t[]> msg_slot_;  // a slot of the message's destination
  std::array<mmsghdr, kMaxSegments> split_msgs_{};
  std::array<std::array<uint8_t, kControl>, kMaxSegments> split_controls_{};
};

}  // namespace lss::net
