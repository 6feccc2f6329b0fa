#include "rtp/rtcp_packets.hpp"

#include <algorithm>

namespace lss {

namespace {

ReportBlock read_block(ByteReader& r) {
  ReportBlock b;
  b.ssrc = r.u32();
  b.fraction_lost = r.u8();
  uint32_t lost = r.u24();
  b.cumulative_lost = (lost & 0x800000) ? int32_t(lost | 0xFF000000u) : int32_t(lost);
  b.extended_highest_seq = r.u32();
  b.jitter = r.u32();
  b.lsr = r.u32();
  b.dlsr = r.u32();
  return b;
}

void write_block(ByteWriter& w, const ReportBlock& b) {
  w.u32(b.ssrc);
  w.u8(b.fraction_lost);
  w.u24(uint32_t(b.cumulative_lost) & 0xFFFFFF);
  w.u32(b.extended_highest_seq);
  w.u32(b.jitter);
  w.u32(b.lsr);
  w.u32(b.dlsr);
}

// Writes the common header with a placeholder length; returns its offset.
size_t begin_packet(Bytes& out, uint8_t count_or_fmt, uint8_t pt) {
  const size_t at = out.size();
  ByteWriter w(out);
  w.u8(uint8_t(0x80 | (count_or_fmt & 0x1f)));
  w.u8(pt);
  w.u16(0);
  return at;
}

void end_packet(Bytes& out, size_t at) {
  while ((out.size() - at) % 4) out.push_back(0);
  store_be16(out.data() + at + 2, uint16_t((out.size() - at) / 4 - 1));
}

bool parse_twcc(ByteReader& r, TransportCcFeedback& fb) {
  fb.base_seq = r.u16();
  fb.status_count = r.u16();
  const uint32_t ref = r.u24();
  fb.reference_time = (ref & 0x800000) ? int32_t(ref | 0xFF000000u) : int32_t(ref);
  fb.feedback_count = r.u8();
  if (!r.ok()) return false;
  std::vector<uint8_t> symbols;
  symbols.reserve(fb.status_count);
  while (symbols.size() < fb.status_count) {
    const uint16_t chunk = r.u16();
    if (!r.ok()) return false;
    if (!(chunk & 0x8000)) {  // run length
      const uint8_t s = (chunk >> 13) & 3;
      const size_t run = chunk & 0x1fff;
      for (size_t i = 0; i < run && symbols.size() < fb.status_count; ++i) symbols.push_back(s);
      if (run == 0) return false;
    } else if (!(chunk & 0x4000)) {  // 14 one-bit symbols
      for (int i = 13; i >= 0 && symbols.size() < fb.status_count; --i)
        symbols.push_back((chunk >> i) & 1);
    } else {  // 7 two-bit symbols
      for (int i = 6; i >= 0 && symbols.size() < fb.status_count; --i)
        symbols.push_back((chunk >> (2 * i)) & 3);
    }
  }
  uint16_t seq = fb.base_seq;
  for (uint8_t s : symbols) {
    TransportCcFeedback::Packet p{seq++, s != 0, 0};
    if (s == 1) p.delta_250us = r.u8();
    if (s == 2) p.delta_250us = int16_t(r.u16());
    if (s == 3) return false;
    fb.packets.push_back(p);
  }
  return r.ok();
}

bool parse_xr(ByteReader& r, ExtendedReport& xr) {
  xr.sender_ssrc = r.u32();
  while (r.ok() && r.remaining() >= 4) {
    const uint8_t type = r.u8();
    r.skip(1);
    const size_t words = r.u16();  // the block's length in words, header excluded
    if (!r.ok() || words * 4 > r.remaining()) return false;
    if (type == rtcp::kXrRrtr && words == 2) {
      xr.rrtr_ntp = r.u64();
    } else if (type == rtcp::kXrDlrr && words % 3 == 0) {
      for (size_t i = 0; i < words / 3; ++i) {
        ExtendedReport::Dlrr d;
        d.ssrc = r.u32();
        d.lrr = r.u32();
        d.dlrr = r.u32();
        xr.dlrr.push_back(d);
      }
    } else {
      r.skip(words * 4);
    }
  }
  return r.ok();
}

}  // namespace

bool for_each_rtcp(ByteSpan data, const std::function<void(const RtcpPacket&)>& f) {
  size_t pos = 0;
  int guard = 0;
  while (pos < data.size()) {
    if (++guard > 64 || data.size() - pos < 4) return false;
    const uint8_t* h = data.data() + pos;
    if ((h[0] >> 6) != 2) return false;
    const uint8_t count = h[0] & 0x1f;
    const uint8_t pt = h[1];
    const size_t len = (size_t(load_be16(h + 2)) + 1) * 4;
    if (len > data.size() - pos) return false;
    size_t body_len = len - 4;
    if (h[0] & 0x20) {  // padding
      const uint8_t pad = data[pos + len - 1];
      if (pad == 0 || pad > body_len) return false;
      body_len -= pad;
    }
    ByteReader r(data.subspan(pos + 4, body_len));
    pos += len;
    switch (pt) {
      case rtcp::kSR: {
        SenderReport sr;
        sr.ssrc = r.u32();
        sr.ntp = r.u64();
        sr.rtp_timestamp = r.u32();
        sr.packet_count = r.u32();
        sr.octet_count = r.u32();
        for (int i = 0; i < count && r.ok(); ++i) sr.report_blocks.push_back(read_block(r));
        if (!r.ok()) return false;
        f(sr);
        break;
      }
      case rtcp::kRR: {
        ReceiverReport rr;
        rr.ssrc = r.u32();
        for (int i = 0; i < count && r.ok(); ++i) rr.report_blocks.push_back(read_block(r));
        if (!r.ok()) return false;
        f(rr);
        break;
      }
      case rtcp::kBYE: {
        Bye bye;
        for (int i = 0; i < count && r.ok(); ++i) bye.ssrcs.push_back(r.u32());
        if (!r.ok()) return false;
        f(bye);
        break;
      }
      case rtcp::kRTPFB: {
        const uint32_t sender = r.u32(), media = r.u32();
        if (!r.ok()) return false;
        if (count == rtcp::kFmtNack) {
          Nack n{sender, media, {}};
          while (r.remaining() >= 4) {
            const uint16_t pid = r.u16(), blp = r.u16();
            n.lost.push_back(pid);
            for (int b = 0; b < 16; ++b)
              if (blp & (1 << b)) n.lost.push_back(uint16_t(pid + b + 1));
          }
          f(n);
        } else if (count == rtcp::kFmtTwcc) {
          TransportCcFeedback fb;
          fb.sender_ssrc = sender;
          fb.media_ssrc = media;
          if (!parse_twcc(r, fb)) return false;
          f(fb);
        } else {
          f(UnknownRtcp{pt, count});
        }
        break;
      }
      case rtcp::kPSFB: {
        const uint32_t sender = r.u32(), media = r.u32();
        if (!r.ok()) return false;
        if (count == rtcp::kFmtPli) {
          f(Pli{sender, media});
        } else if (count == rtcp::kFmtFir) {
          Fir fir{sender, {}};
          while (r.remaining() >= 8) {
            const uint32_t ssrc = r.u32();
            const uint8_t seq = r.u8();
            r.skip(3);
            fir.entries.push_back({ssrc, seq});
          }
          f(fir);
        } else if (count == rtcp::kFmtAfb && r.remaining() >= 8) {
          ByteSpan id = r.bytes(4);
          if (id[0] == 'R' && id[1] == 'E' && id[2] == 'M' && id[3] == 'B') {
            Remb remb;
            remb.sender_ssrc = sender;
            const uint8_t num = r.u8();
            const uint32_t br = r.u24();
            remb.bitrate_bps = uint64_t(br & 0x3FFFF) << (br >> 18);
            for (int i = 0; i < num && r.ok(); ++i) remb.ssrcs.push_back(r.u32());
            if (!r.ok()) return false;
            f(remb);
          } else {
            f(UnknownRtcp{pt, count});
          }
        } else {
          f(UnknownRtcp{pt, count});
        }
        break;
      }
      case rtcp::kXR: {
        ExtendedReport xr;
        if (!parse_xr(r, xr)) return false;
        f(xr);
        break;
      }
      default:
        f(UnknownRtcp{pt, count});
    }
  }
  return true;
}

void build_extended_report(const ExtendedReport& xr, Bytes& out) {
  const size_t at = begin_packet(out, 0, rtcp::kXR);
  ByteWriter w(out);
  w.u32(xr.sender_ssrc);
  if (xr.rrtr_ntp) {
    w.u8(rtcp::kXrRrtr);
    w.u8(0);
    w.u16(2);
    w.u64(*xr.rrtr_ntp);
  }
  if (!xr.dlrr.empty()) {
    w.u8(rtcp::kXrDlrr);
    w.u8(0);
    w.u16(uint16_t(3 * xr.dlrr.size()));
    for (const auto& d : xr.dlrr) {
      w.u32(d.ssrc);
      w.u32(d.lrr);
      w.u32(d.dlrr);
    }
  }
  end_packet(out, at);
}

void build_sender_report(const SenderReport& sr, Bytes& out) {
  const size_t at =
      begin_packet(out, uint8_t(std::min<size_t>(sr.report_blocks.size(), 31)), rtcp::kSR);
  ByteWriter w(out);
  w.u32(sr.ssrc);
  w.u64(sr.ntp);
  w.u32(sr.rtp_timestamp);
  w.u32(sr.packet_count);
  w.u32(sr.octet_count);
  for (size_t i = 0; i < sr.report_blocks.size() && i < 31; ++i)
    write_block(w, sr.report_blocks[i]);
  end_packet(out, at);
}

void build_receiver_report(const ReceiverReport& rr, Bytes& out) {
  const size_t at =
      begin_packet(out, uint8_t(std::min<size_t>(rr.report_blocks.size(), 31)), rtcp::kRR);
  ByteWriter w(out);
  w.u32(rr.ssrc);
  for (size_t i = 0; i < rr.report_blocks.size() && i < 31; ++i)
    write_block(w, rr.report_blocks[i]);
  end_packet(out, at);
}

void build_nack(const Nack& nack, Bytes& out) {
  const size_t at = begin_packet(out, rtcp::kFmtNack, rtcp::kRTPFB);
  ByteWriter w(out);
  w.u32(nack.sender_ssrc);
  w.u32(nack.media_ssrc);
  // Pack into PID + BLP pairs: each PID covers itself and the 16 after it.
  std::vector<uint16_t> seqs = nack.lost;
  std::sort(seqs.begin(), seqs.end(), [](uint16_t a, uint16_t b) { return int16_t(a - b) < 0; });
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  for (size_t i = 0; i < seqs.size();) {
    const uint16_t pid = seqs[i++];
    uint16_t blp = 0;
    while (i < seqs.size()) {
      const uint16_t d = uint16_t(seqs[i] - pid);
      if (d == 0 || d > 16) break;
      blp |= uint16_t(1 << (d - 1));
      ++i;
    }
    w.u16(pid);
    w.u16(blp);
  }
  end_packet(out, at);
}

void build_pli(const Pli& pli, Bytes& out) {
  const size_t at = begin_packet(out, rtcp::kFmtPli, rtcp::kPSFB);
  ByteWriter w(out);
  w.u32(pli.sender_ssrc);
  w.u32(pli.media_ssrc);
  end_packet(out, at);
}

void build_fir(const Fir& fir, Bytes& out) {
  const size_t at = begin_packet(out, rtcp::kFmtFir, rtcp::kPSFB);
  ByteWriter w(out);
  w.u32(fir.sender_ssrc);
  w.u32(0);  // media source SSRC is unused in FIR (RFC 5104 §4.3.1.2)
  for (const auto& e : fir.entries) {
    w.u32(e.ssrc);
    w.u8(e.seq);
    w.zeros(3);
  }
  end_packet(out, at);
}

void build_remb(const Remb& remb, Bytes& out) {
  const size_t at = begin_packet(out, rtcp::kFmtAfb, rtcp::kPSFB);
  ByteWriter w(out);
  w.u32(remb.sender_ssrc);
  w.u32(0);
  w.bytes(std::string_view("REMB"));
  w.u8(uint8_t(std::min<size_t>(remb.ssrcs.size(), 255)));
  uint64_t mantissa = remb.bitrate_bps;
  uint8_t exp = 0;
  while (mantissa > 0x3FFFF) {
    mantissa >>= 1;
    ++exp;
  }
  w.u24(uint32_t(exp) << 18 | uint32_t(mantissa));
  for (size_t i = 0; i < remb.ssrcs.size() && i < 255; ++i) w.u32(remb.ssrcs[i]);
  end_packet(out, at);
}

void build_transport_cc(const TransportCcFeedback& fb, Bytes& out) {
  const size_t at = begin_packet(out, rtcp::kFmtTwcc, rtcp::kRTPFB);
  ByteWriter w(out);
  w.u32(fb.sender_ssrc);
  w.u32(fb.media_ssrc);
  w.u16(fb.base_seq);
  w.u16(uint16_t(fb.packets.size()));
  w.u24(uint32_t(fb.reference_time) & 0xFFFFFF);
  w.u8(fb.feedback_count);
  auto symbol = [](const TransportCcFeedback::Packet& p) -> uint8_t {
    if (!p.received) return 0;
    return (p.delta_250us >= 0 && p.delta_250us <= 255) ? 1 : 2;
  };
  // Two-bit status vector chunks, seven symbols each: simple and always valid.
  for (size_t i = 0; i < fb.packets.size(); i += 7) {
    uint16_t chunk = 0xC000;
    for (size_t k = 0; k < 7; ++k) {
      const uint8_t s = i + k < fb.packets.size() ? symbol(fb.packets[i + k]) : 0;
      chunk |= uint16_t(s << (2 * (6 - k)));
    }
    w.u16(chunk);
  }
  for (const auto& p : fb.packets) {
    const uint8_t s = symbol(p);
    if (s == 1) w.u8(uint8_t(p.delta_250us));
    if (s == 2) w.u16(uint16_t(int16_t(p.delta_250us)));
  }
  end_packet(out, at);
}

}  // namespace lss
