#pragma once
// SEND_PATH=xdp: a media worker's UDP datagrams transmitted as AF_XDP
// frames on one queue of one device (XDP_DEVICE), built here: Ethernet,
// IPv4 and UDP headers in front of each datagram, in a UMEM frame the
// kernel hands to the driver without the UDP/IP stack, the qdisc or
// netfilter. TX only, no XDP program (nothing is received through it: the
// worker's UDP socket still receives). Zero-copy is tried first, copy mode
// (the kernel builds an skb per frame in the sendto() kick) otherwise.
//
// Which datagrams: IPv4 ones (IPv6 goes the socket path) whose route in
// the kernel's main table (/proc/net/route: longest prefix, then lowest
// metric) leaves through the device, when the next hop's MAC (the route's
// gateway, or the destination itself on a link route) is in the kernel's
// neighbour table (/proc/net/arp), up to the device's MTU; never to this
// host's own addresses, loopback, multicast or broadcast. Both tables are
// read at open() and again by refresh() (once a second, or soon after a
// miss); a datagram add() refuses goes through the worker's socket, which
// also makes the kernel resolve the neighbour that the next refresh() then
// finds. Policy routing (ip rule, other tables) is not looked at.
// Source: the device's MAC, the local address the message names
// (IP_PKTINFO) or else the device's IPv4 address, the worker's port. IPv4
// header checksum computed, UDP checksum 0 (none: allowed for IPv4).
//
// Copy mode copies each datagram twice (into its UMEM frame here, into an
// skb in the kernel): over a veth pair in bench/send-paths it costs about
// what UDP GSO sendmmsg does per packet (more user time, less kernel).
//
// One socket and UMEM per worker, on queue (worker index % the device's
// TX queues): two workers on one queue do not work (the second bind is
// refused: EBUSY), that worker then keeps sendmmsg. add() and flush() take
// no locks and allocate nothing; worker thread only.
//
// Optional: built only where libxdp and libbpf are found (LSS_HAVE_XDP);
// without them open() fails and the worker keeps sendmmsg.
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "common/time.hpp"

namespace lss::net {

namespace xdp {

using Mac = std::array<uint8_t, 6>;
using Ipv4 = std::array<uint8_t, 4>;  // network order, as on the wire

constexpr size_t kEthHeader = 14, kIpv4Header = 20, kUdpHeader = 8;
constexpr size_t kHeaders = kEthHeader + kIpv4Header + kUdpHeader;

// What a frame's headers say besides the lengths.
struct Udp4Frame {
  Mac src_mac{}, dst_mac{};
  Ipv4 src_ip{}, dst_ip{};
  uint16_t src_port = 0, dst_port = 0;  // host order
  uint16_t ip_id = 0;
  uint8_t ttl = 64;
};

// The ones' complement checksum of an IPv4 header of `len` bytes (its
// checksum field zero), as stored in it.
uint16_t ipv4_checksum(const uint8_t* header, size_t len);

// Writes the Ethernet + IPv4 + UDP headers of `f` and then `payload` into
// `out`: the frame's length, or 0 when it does not fit `capacity` or a
// 16-bit length. DF set, UDP checksum 0.
size_t build_udp4_frame(uint8_t* out, size_t capacity, const Udp4Frame& f, const uint8_t* payload,
                        size_t payload_len);

// "aa:bb:cc:dd:ee:ff" (case-insensitive); false when it is not one.
bool parse_mac(std::string_view text, Mac& mac);

struct Neighbour {
  Ipv4 ip{};
  Mac mac{};
};
// The complete entries (flags with ATF_COM, a MAC other than zero) of
// /proc/net/arp's text on `device`.
std::vector<Neighbour> parse_proc_net_arp(std::string_view text, std::string_view device);

struct Route4 {
  std::string device;
  Ipv4 dst{}, mask{}, gateway{};
  bool via_gateway = false;
  unsigned metric = 0;
};
// The usable routes (RTF_UP, not RTF_REJECT) of /proc/net/route's text.
std::vector<Route4> parse_proc_net_route(std::string_view text);

// The routes as XdpSender looks destinations up in them. No allocation in
// next_hop().
class RouteTable {
 public:
  // `routes` (any devices), of which those on `device` are ours; `locals`:
  // this host's own addresses (never sent to as frames).
  void assign(const std::vector<Route4>& routes, std::string_view device,
              const std::vector<Ipv4>& locals);
  // Where a datagram to `dst` goes next when its route (longest prefix,
  // then lowest metric) leaves through the device: the route's gateway, or
  // `dst` itself on a link route. False otherwise (another device's route,
  // no route, a local, loopback, multicast or broadcast destination).
  bool next_hop(const Ipv4& dst, Ipv4& hop) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint32_t dst, mask, gateway;  // network order, as on the wire
    int prefix;
    unsigned metric;
    bool via_gateway, ours;
  };
  std::vector<Entry> entries_;  // longest prefix first, then lowest metric
  std::vector<uint32_t> locals_;
};

}  // namespace xdp

class XdpSender {
 public:
  static constexpr uint32_t kFrames = 4096;     // UMEM frames (8 MiB)
  static constexpr uint32_t kFrameSize = 2048;  // one datagram each
  static constexpr uint32_t kTxRing = 2048;     // descriptors
  static constexpr Duration kRefreshEvery = std::chrono::seconds(1);
  static constexpr Duration kRefreshAfterMiss = std::chrono::milliseconds(50);

  XdpSender();
  ~XdpSender();
  XdpSender(const XdpSender&) = delete;
  XdpSender& operator=(const XdpSender&) = delete;

  // The server was built with libxdp.
  static bool built_in();
  // The socket on `device`, queue `queue_hint` % its TX queues, sending
  // from UDP port `port`; an error where it cannot be made (no libxdp, no
  // such device, no IPv4 address on it, no permission, queue taken).
  lss::Status open(const std::string& device, unsigned queue_hint, uint16_t port);
  bool is_open() const { return socket_ != nullptr; }
  // "zero-copy" or "copy", the queue, for the log.
  std::string describe() const;

  // Puts every datagram of `h` (an iovec each, to h.msg_name, from the
  // IP_PKTINFO/IPV6_PKTINFO address in its control if any) on the TX ring:
  // true. False, and nothing queued, when it must go through the socket:
  // IPv6, routed through another device, no neighbour entry for the next
  // hop (a refresh is then due soon), over the MTU, or no free frame or
  // ring room.
  bool add(const msghdr& h);
  // Hands what add() queued to the device (copy mode: the sendto() kicks
  // transmit it) and takes back the frames the kernel is done with. The
  // frames it handed over.
  size_t flush();
  // Reads the neighbour table again when it is due (kRefreshEvery, or
  // kRefreshAfterMiss after a miss). Allocates: call it off the hot path
  // (the worker's tick).
  void refresh(Timestamp now);

  // Frames sent, and datagrams add() refused, since open().
  uint64_t frames_sent() const { return frames_sent_; }
  uint64_t refused() const { return refused_; }
  // sendto() calls that made no progress at once (a full device queue).
  uint64_t kick_retries() const { return kick_retries_; }
  // The neighbour entries and routes known now.
  size_t neighbours() const { return neighbours_.size(); }
  size_t routes() const { return routes_.size(); }

 private:
  struct Socket;
  bool kick();
  void reap();
  bool take(uint64_t& addr);
  void load_neighbours();
  void load_routes();

  std::unique_ptr<Socket> socket_;
  std::string device_;
  unsigned queue_ = 0;
  uint16_t port_ = 0;
  unsigned mtu_ = 1500;
  xdp::Mac mac_{};
  xdp::Ipv4 addr_{};  // the device's: the source where IP_PKTINFO names none
  uint16_t ip_id_ = 0;
  struct Ipv4Hash {
    size_t operator()(uint32_t ip) const noexcept { return ip * 2654435761u; }
  };
  std::unordered_map<uint32_t, xdp::Mac, Ipv4Hash> neighbours_;  // raw IPv4 bytes as key
  xdp::RouteTable routes_;
  Timestamp last_refresh_{};
  bool missed_ = false;
  uint32_t queued_ = 0;  // on the ring, not yet kicked
  uint64_t frames_sent_ = 0, refused_ = 0, kick_retries_ = 0;
};

}  // namespace lss::net
