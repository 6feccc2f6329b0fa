#include "net/datagram_batch.hpp"

#include <netinet/udp.h>

#include <cstring>

#include "net/sockaddr.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h; older libc headers lack it
#endif

namespace lss::net {

const char* send_shape_name(SendShape shape) {
  switch (shape) {
    case SendShape::kPlain:
      return "plain";
    case SendShape::kGrouped:
      return "grouped";
    case SendShape::kGso:
      break;
  }
  return "gso";
}

DatagramBatch::DatagramBatch(bool v6_socket)
    : v6_(v6_socket),
      data_(new uint8_t[(kSlots + 1) * kSlotSize]),
      slots_(new Slot[kSlots]),
      groups_(new Group[kSlots]),
      table_(new Entry[kTable]()),
      msgs_(new mmsghdr[kSlots]),
      iovs_(new iovec[kSlots]),
      controls_(new uint8_t[kSlots * kControl]),
      msg_slot_(new int32_t[kSlots]) {
  for (size_t i = 0; i < kSlots; ++i) buffer_[i] = data_.get() + i * kSlotSize;
  spare_ = data_.get() + kSlots * kSlotSize;
}

int32_t DatagramBatch::group_of(const SocketAddress& to, size_t hash) {
  for (size_t i = hash % kTable;; i = (i + 1) % kTable) {
    Entry& e = table_[i];
    if (e.generation != generation_) {  // free: a new destination
      e = {generation_, int32_t(group_count_)};
      groups_[group_count_] = {-1, -1};
      return int32_t(group_count_++);
    }
    if (slots_[groups_[e.group].head].to == to) return e.group;
  }
}

bool DatagramBatch::add(ByteSpan data, const SocketAddress& to, const uint8_t* source) {
  if (count_ == kSlots || data.size() > kSlotSize) return false;
  Slot& s = slots_[count_];
  sockaddr_storage ss;
  s.addr_len = to_sockaddr(to, v6_, ss);
  std::memcpy(&s.addr, &ss, s.addr_len);
  s.to = to;
  s.size = uint16_t(data.size());
  s.has_source = source != nullptr;
  if (source) std::memcpy(s.source.data(), source, 16);
  s.next = -1;
  if (data.data() == spare_) {
    std::swap(buffer_[count_], spare_);  // built in place: no copy
  } else {
    std::memcpy(buffer_[count_], data.data(), data.size());
  }
  // The table holds at most kSlots of its 2 * kSlots entries: probes end.
  Group& g = groups_[group_of(to, SocketAddressHash{}(to))];
  if (g.head < 0) {
    g.head = int32_t(count_);
  } else {
    slots_[g.tail].next = int32_t(count_);
  }
  g.tail = int32_t(count_);
  ++count_;
  return true;
}

void DatagramBatch::fill(mmsghdr& m, uint8_t* control, const Slot& s, size_t first_iov, size_t n,
                         size_t segment) {
  m = mmsghdr{};
  msghdr& h = m.msg_hdr;
  h.msg_name = const_cast<sockaddr*>(&s.addr.sa);
  h.msg_namelen = s.addr_len;
  h.msg_iov = &iovs_[first_iov];
  h.msg_iovlen = n;
  size_t used = 0;
  std::memset(control, 0, kControl);
  if (s.has_source) {
    // The address the peer sent to (MediaWorker::set_reply_from_destination).
    // A dual-stack socket takes IPV6_PKTINFO for both families.
    cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
    if (v6_) {
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo info{};
      std::memcpy(&info.ipi6_addr, s.source.data(), 16);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
      used = CMSG_SPACE(sizeof(in6_pktinfo));
    } else {
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo info{};
      std::memcpy(&info.ipi_spec_dst, s.source.data() + 12, 4);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
      used = CMSG_SPACE(sizeof(in_pktinfo));
    }
  }
  if (segment) {
    cmsghdr* c = reinterpret_cast<cmsghdr*>(control + used);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const auto size = uint16_t(segment);
    std::memcpy(CMSG_DATA(c), &size, sizeof size);
    used += CMSG_SPACE(sizeof(uint16_t));
  }
  if (used) {
    h.msg_control = control;
    h.msg_controllen = used;
  }
}

std::span<mmsghdr> DatagramBatch::messages(SendShape shape) {
  size_t n = 0;
  const auto add_message = [&](int32_t slot, size_t first_iov, size_t datagrams, size_t segment) {
    fill(msgs_[n], controls_.get() + n * kControl, slots_[slot], first_iov, datagrams, segment);
    msg_slot_[n] = slot;
    ++n;
  };
  const auto iov_of = [&](int32_t slot) { return iovec{buffer_[size_t(slot)], slots_[slot].size}; };
  if (shape == SendShape::kPlain) {
    for (size_t i = 0; i < count_; ++i) {
      iovs_[i] = iov_of(int32_t(i));
      add_message(int32_t(i), i, 1, 0);
    }
    return {msgs_.get(), n};
  }
  size_t iov = 0;
  for (size_t g = 0; g < group_count_; ++g) {
    int32_t slot = groups_[g].head;
    while (slot >= 0) {
      // A run: datagrams of the first one's size, then perhaps one shorter
      // (UDP GSO cuts every segment at that size, the last may be less).
      const size_t segment = slots_[slot].size;
      const int32_t first = slot;
      const size_t first_iov = iov;
      size_t datagrams = 0, bytes = 0;
      while (slot >= 0) {
        const size_t size = slots_[slot].size;
        if (datagrams > 0 && (shape != SendShape::kGso || size > segment ||
                              datagrams == kMaxSegments || bytes + size > kMaxMessageBytes)) {
          break;
        }
        iovs_[iov++] = iov_of(slot);
        ++datagrams;
        bytes += size;
        slot = slots_[slot].next;
        if (size < segment) break;
      }
      add_message(first, first_iov, datagrams, datagrams > 1 ? segment : 0);
    }
  }
  return {msgs_.get(), n};
}

size_t DatagramBatch::bytes(size_t i) const {
  const msghdr& h = msgs_[i].msg_hdr;
  size_t n = 0;
  for (size_t k = 0; k < h.msg_iovlen; ++k) n += h.msg_iov[k].iov_len;
  return n;
}

std::span<mmsghdr> DatagramBatch::split(size_t i) {
  const Slot& s = slots_[msg_slot_[i]];
  const size_t n = datagrams(i);
  const size_t first_iov = size_t(msgs_[i].msg_hdr.msg_iov - iovs_.get());
  for (size_t k = 0; k < n; ++k) {
    fill(split_msgs_[k], split_controls_[k].data(), s, first_iov + k, 1, 0);
  }
  return {split_msgs_.data(), n};
}

void DatagramBatch::clear() {
  count_ = 0;
  group_count_ = 0;
  if (++generation_ == 0) {  // wrapped: old entries could look current
    for (size_t i = 0; i < kTable; ++i) table_[i] = Entry{};
    generation_ = 1;
  }
}

}  // namespace lss::net
