#pragma once
// RTCP (RFC 3550) and its feedback messages (RFC 4585 NACK/PLI, RFC 5104
// FIR, REMB, transport-cc) and extended reports (RFC 3611 RRTR/DLRR): a
// parser for compound and reduced-size packets and builders that append to
// a buffer.
#include <cstdint>
#include <functional>
#include <optional>
#include <variant>
#include <vector>

#include "common/bytes.hpp"

namespace lss {

namespace rtcp {
constexpr uint8_t kSR = 200, kRR = 201, kSDES = 202, kBYE = 203, kAPP = 204;
constexpr uint8_t kRTPFB = 205, kPSFB = 206, kXR = 207;
constexpr uint8_t kXrRrtr = 4, kXrDlrr = 5;                // RFC 3611 block types
constexpr uint8_t kFmtNack = 1, kFmtTwcc = 15;             // RTPFB
constexpr uint8_t kFmtPli = 1, kFmtFir = 4, kFmtAfb = 15;  // PSFB
}  // namespace rtcp

struct ReportBlock {
  uint32_t ssrc = 0;
  uint8_t fraction_lost = 0;
  int32_t cumulative_lost = 0;  // 24-bit signed
  uint32_t extended_highest_seq = 0;
  uint32_t jitter = 0;
  uint32_t lsr = 0;
  uint32_t dlsr = 0;
};

struct SenderReport {
  uint32_t ssrc = 0;
  uint64_t ntp = 0;
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  std::vector<ReportBlock> report_blocks;
};

struct ReceiverReport {
  uint32_t ssrc = 0;
  std::vector<ReportBlock> report_blocks;
};

struct Nack {
  uint32_t sender_ssrc = 0, media_ssrc = 0;
  std::vector<uint16_t> lost;
};

struct Pli {
  uint32_t sender_ssrc = 0, media_ssrc = 0;
};

struct Fir {
  struct Entry {
    uint32_t ssrc;
    uint8_t seq;
  };
  uint32_t sender_ssrc = 0;
  std::vector<Entry> entries;
};

struct Remb {
  uint32_t sender_ssrc = 0;
  uint64_t bitrate_bps = 0;
  std::vector<uint32_t> ssrcs;
};

struct TransportCcFeedback {
  uint32_t sender_ssrc = 0, media_ssrc = 0;
  uint16_t base_seq = 0;
  uint16_t status_count = 0;
  int32_t reference_time = 0;  // multiples of 64 ms
  uint8_t feedback_count = 0;
  struct Packet {
    uint16_t seq;
    bool received;
    int32_t delta_250us;  // valid when received
  };
  std::vector<Packet> packets;
};

// RFC 3611 extended report. A receiver that sends no media measures its round
// trip with it: it sends a receiver reference time (RRTR), and the media
// sender answers with the delay since it got it (DLRR), like LSR/DLSR in
// the other direction. Other block types are skipped.
struct ExtendedReport {
  struct Dlrr {
    uint32_t ssrc = 0;  // the RRTR's sender
    uint32_t lrr = 0;   // middle 32 bits of its NTP time
    uint32_t dlrr = 0;  // 1/65536 s since it arrived
  };
  uint32_t sender_ssrc = 0;
  std::optional<uint64_t> rrtr_ntp;
  std::vector<Dlrr> dlrr;
};

struct Bye {
  std::vector<uint32_t> ssrcs;
};

struct UnknownRtcp {
  uint8_t packet_type, fmt;
};

using RtcpPacket = std::variant<SenderReport, ReceiverReport, Nack, Pli, Fir, Remb,
                                TransportCcFeedback, ExtendedReport, Bye, UnknownRtcp>;

// Calls `f` for each packet of a compound (or reduced-size) RTCP packet.
// Returns false when a length is inconsistent; packets before it were delivered.
bool for_each_rtcp(ByteSpan data, const std::function<void(const RtcpPacket&)>& f);

// Builders append one RTCP packet to `out`.
void build_sender_report(const SenderReport& sr, Bytes& out);
void build_receiver_report(const ReceiverReport& rr, Bytes& out);
void build_nack(const Nack& nack, Bytes& out);
void build_pli(const Pli& pli, Bytes& out);
void build_fir(const Fir& fir, Bytes& out);
void build_remb(const Remb& remb, Bytes& out);
void build_transport_cc(const TransportCcFeedback& fb, Bytes& out);
void build_extended_report(const ExtendedReport& xr, Bytes& out);

}  // namespace lss
