#include "codec/depacketizer.hpp"

#include <cctype>
#include <string>

#include "codec/keyframe.hpp"

namespace lss::codec {

namespace {

// Frame assembly shared by the video formats: collects the payload pieces of
// one RTP timestamp; a gap or a timestamp change without a marker abandons
// the frame; after a loss, frames are dropped until a keyframe.
class VideoDepacketizer : public Depacketizer {
 public:
  void push(uint16_t seq, uint32_t ts, bool marker, ByteSpan payload,
            std::vector<EncodedFrame>& out) final {
    const bool gap = have_seq_ && uint16_t(last_seq_ + 1) != seq;
    have_seq_ = true;
    last_seq_ = seq;
    if (gap) lose();
    if (in_frame_ && ts != frame_.rtp_timestamp) lose();  // the previous frame never ended
    if (!in_frame_) {
      if (!starts_frame(payload)) {
        broken_ = true;  // middle of a frame we did not see begin
        return;
      }
      in_frame_ = true;
      broken_ = false;
      frame_ = EncodedFrame{};
      frame_.rtp_timestamp = ts;
      frame_.keyframe = false;
      first_ = true;
    }
    if (!append(payload, frame_, first_)) {
      lose();
      return;
    }
    first_ = false;
    if (marker) {
      in_frame_ = false;
      if (waiting_ && !frame_.keyframe) {
        ++dropped_;
        return;
      }
      waiting_ = false;
      out.push_back(std::move(frame_));
    }
  }
  uint64_t dropped_frames() const final { return dropped_; }
  bool waiting_for_keyframe() const final { return waiting_; }

 protected:
  // True when this payload begins a frame.
  virtual bool starts_frame(ByteSpan payload) const = 0;
  // Appends the payload's media bytes; sets keyframe/size on the first one.
  virtual bool append(ByteSpan payload, EncodedFrame& frame, bool first) = 0;

 private:
  void lose() {
    if (in_frame_ || broken_) ++dropped_;
    in_frame_ = false;
    broken_ = false;
    waiting_ = true;
  }
  EncodedFrame frame_;
  bool in_frame_ = false, first_ = false, broken_ = false;
  bool waiting_ = true;  // start at a keyframe
  bool have_seq_ = false;
  uint16_t last_seq_ = 0;
  uint64_t dropped_ = 0;
};

// RFC 7741 payload descriptor length, or 0 when malformed.
size_t vp8_descriptor_size(ByteSpan p) {
  if (p.empty()) return 0;
  size_t i = 1;
  if (p[0] & 0x80) {
    if (i >= p.size()) return 0;
    const uint8_t x = p[i++];
    if (x & 0x80) {
      if (i >= p.size()) return 0;
      i += (p[i] & 0x80) ? 2 : 1;
    }
    if (x & 0x40) ++i;
    if (x & 0x30) ++i;
  }
  return i < p.size() ? i : 0;
}

class Vp8Depacketizer final : public VideoDepacketizer {
  bool starts_frame(ByteSpan p) const override {
    return !p.empty() && (p[0] & 0x10) && (p[0] & 0x07) == 0 && vp8_descriptor_size(p) != 0;
  }
  bool append(ByteSpan p, EncodedFrame& f, bool first) override {
    const size_t d = vp8_descriptor_size(p);
    if (d == 0) return false;
    ByteSpan body = p.subspan(d);
    if (first) f.keyframe = (body[0] & 0x01) == 0;
    f.data.insert(f.data.end(), body.begin(), body.end());
    // Keyframe header: 3-byte frame tag, start code 9d 01 2a, 14-bit width/height.
    const Bytes& v = f.data;
    if (f.keyframe && f.width == 0 && v.size() >= 10 && v[3] == 0x9d && v[4] == 0x01 &&
        v[5] == 0x2a) {
      f.width = (v[6] | v[7] << 8) & 0x3fff;
      f.height = (v[8] | v[9] << 8) & 0x3fff;
    }
    return true;
  }
};

// VP9 (RFC 9628) payload descriptor length, or 0 when malformed.
size_t vp9_descriptor_size(ByteSpan p, int* width = nullptr, int* height = nullptr) {
  ByteReader r(p);
  const uint8_t b = r.u8();
  const bool i = b & 0x80, pflag = b & 0x40, l = b & 0x20, f = b & 0x10, v = b & 0x02;
  if (i) {
    const uint8_t m = r.u8();
    if (m & 0x80) r.u8();
  }
  if (l) {
    r.u8();
    if (!f) r.u8();  // TL0PICIDX in non-flexible mode
  }
  if (f && pflag) {
    for (int k = 0; k < 3; ++k) {
      if (!(r.u8() & 0x01)) break;  // N bit: more P_DIFFs follow
    }
  }
  if (v) {
    const uint8_t ss = r.u8();
    const int n_s = ((ss >> 5) & 0x07) + 1;
    const bool y = ss & 0x10, g = ss & 0x08;
    if (y) {
      for (int k = 0; k < n_s; ++k) {
        const int w = r.u16(), h = r.u16();
        if (k == 0 && width) *width = w, *height = h;
      }
    }
    if (g) {
      const uint8_t n_g = r.u8();
      for (int k = 0; k < n_g; ++k) {
        const uint8_t pic = r.u8();
        for (int rr = 0; rr < ((pic >> 2) & 3); ++rr) r.u8();
      }
    }
  }
  if (!r.ok() || r.remaining() == 0) return 0;
  return p.size() - r.remaining();
}

class Vp9Depacketizer final : public VideoDepacketizer {
  bool starts_frame(ByteSpan p) const override {
    return !p.empty() && (p[0] & 0x08) && vp9_descriptor_size(p);
  }
  bool append(ByteSpan p, EncodedFrame& f, bool first) override {
    int w = 0, h = 0;
    const size_t d = vp9_descriptor_size(p, &w, &h);
    if (d == 0) return false;
    if (first) {
      f.keyframe = !(p[0] & 0x40);
      if (w) f.width = w, f.height = h;
    }
    f.data.insert(f.data.end(), p.begin() + ptrdiff_t(d), p.end());
    return true;
  }
};

class H264Depacketizer final : public VideoDepacketizer {
  bool starts_frame(ByteSpan p) const override {
    if (p.empty()) return false;
    const uint8_t type = p[0] & 0x1f;
    if (type == 28) return p.size() >= 2 && (p[1] & 0x80);  // FU-A start
    return (type >= 1 && type <= 24);
  }
  void put_nal(EncodedFrame& f, ByteSpan nal) {
    static constexpr uint8_t kStart[] = {0, 0, 0, 1};
    f.data.insert(f.data.end(), kStart, kStart + 4);
    f.data.insert(f.data.end(), nal.begin(), nal.end());
    note(f, nal);
  }
  void note(EncodedFrame& f, ByteSpan nal) {
    const uint8_t type = nal[0] & 0x1f;
    if (type == 5) f.keyframe = true;
    if (type == 7) {
      auto [w, h] = h264_sps_dimensions(nal);
      if (w) f.width = w, f.height = h;
    }
  }
  bool append(ByteSpan p, EncodedFrame& f, bool first) override {
    if (p.empty()) return false;
    if (first) fu_open_ = false;
    const uint8_t type = p[0] & 0x1f;
    if (type >= 1 && type <= 23) {
      put_nal(f, p);
      return true;
    }
    if (type == 24) {  // STAP-A
      ByteReader r(p.subspan(1));
      while (r.remaining() > 0) {
        const uint16_t n = r.u16();
        ByteSpan nal = r.bytes(n);
        if (!r.ok() || n == 0) return false;
        put_nal(f, nal);
      }
      return true;
    }
    if (type == 28) {  // FU-A
      if (p.size() < 3) return false;
      const uint8_t header = p[1];
      if (header & 0x80) {
        const uint8_t nal_header = uint8_t((p[0] & 0xe0) | (header & 0x1f));
        static constexpr uint8_t kStart[] = {0, 0, 0, 1};
        f.data.insert(f.data.end(), kStart, kStart + 4);
        f.data.push_back(nal_header);
        if ((nal_header & 0x1f) == 5) f.keyframe = true;
        fu_open_ = true;
      } else if (!fu_open_) {
        return false;
      }
      f.data.insert(f.data.end(), p.begin() + 2, p.end());
      if (header & 0x40) fu_open_ = false;
      return true;
    }
    return false;  // STAP-B, MTAP, FU-B: not sent by WebRTC stacks
  }
  bool fu_open_ = false;
};

// AV1 RTP (AOM spec): aggregation header Z Y W(2) N; OBU elements with LEB128
// lengths except the last when W != 0; Z/Y mark fragments across packets.
class Av1Depacketizer final : public VideoDepacketizer {
  bool starts_frame(ByteSpan p) const override { return !p.empty() && !(p[0] & 0x80); }
  static bool leb128(ByteReader& r, uint64_t& v) {
    v = 0;
    for (int i = 0; i < 8; ++i) {
      const uint8_t b = r.u8();
      if (!r.ok()) return false;
      v |= uint64_t(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  void emit_obu(EncodedFrame& f, ByteSpan obu) {
    if (obu.empty()) return;
    const uint8_t h = obu[0];
    const uint8_t type = (h >> 3) & 0x0f;
    if (type == 2 || type == 8) return;  // temporal delimiter, tile list: dropped
    if (type == 1) f.keyframe = true;    // a sequence header starts a coded video sequence
    const size_t hdr = (h & 0x04) ? 2 : 1;
    if (obu.size() < hdr) return;
    f.data.push_back(uint8_t(h | 0x02));  // has_size_field
    if (hdr == 2) f.data.push_back(obu[1]);
    uint64_t size = obu.size() - hdr;
    do {
      uint8_t b = size & 0x7f;
      size >>= 7;
      if (size) b |= 0x80;
      f.data.push_back(b);
    } while (size);
    f.data.insert(f.data.end(), obu.begin() + ptrdiff_t(hdr), obu.end());
  }
  bool append(ByteSpan p, EncodedFrame& f, bool first) override {
    ByteReader r(p);
    const uint8_t agg = r.u8();
    const bool z = agg & 0x80, y = agg & 0x40;
    const int w = (agg >> 4) & 0x03;
    if (first && (agg & 0x08)) f.keyframe = true;
    if (z != partial_open_) return false;  // a continuation without its start, or vice versa
    int index = 0;
    while (r.remaining() > 0) {
      ++index;
      uint64_t len = r.remaining();
      if (w == 0 || index < w) {
        if (!leb128(r, len)) return false;
      }
      ByteSpan element = r.bytes(size_t(len));
      if (!r.ok()) return false;
      const bool continues = (index == 1 && z);
      const bool last = r.remaining() == 0;
      if (continues) {
        partial_.insert(partial_.end(), element.begin(), element.end());
      } else {
        partial_.assign(element.begin(), element.end());
      }
      if (last && y) {
        partial_open_ = true;  // fragment continues in the next packet
        return true;
      }
      emit_obu(f, partial_);
      partial_.clear();
      if (w != 0 && index == w) break;
    }
    partial_open_ = false;
    return true;
  }
  Bytes partial_;
  bool partial_open_ = false;
};

class OpusDepacketizer final : public Depacketizer {
 public:
  void push(uint16_t, uint32_t ts, bool, ByteSpan payload,
            std::vector<EncodedFrame>& out) override {
    if (payload.empty()) return;
    EncodedFrame f;
    f.rtp_timestamp = ts;
    f.keyframe = true;
    f.data.assign(payload.begin(), payload.end());
    out.push_back(std::move(f));
  }
  uint64_t dropped_frames() const override { return 0; }
  bool waiting_for_keyframe() const override { return false; }
};

// Exp-Golomb reader over an RBSP (emulation prevention bytes removed).
class BitReader {
 public:
  explicit BitReader(const Bytes& b) : b_(b) {}
  uint32_t bit() {
    if (pos_ >= b_.size() * 8) return ok_ = false, 0;
    const uint32_t v = (b_[pos_ / 8] >> (7 - pos_ % 8)) & 1;
    ++pos_;
    return v;
  }
  uint32_t bits(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 1 | bit();
    return v;
  }
  uint32_t ue() {
    int zeros = 0;
    while (ok_ && bit() == 0 && zeros < 32) ++zeros;
    if (zeros >= 32) return ok_ = false, 0;
    return (uint32_t(1) << zeros) - 1 + bits(zeros);
  }
  int32_t se() {
    const uint32_t v = ue();
    return (v & 1) ? int32_t((v + 1) / 2) : -int32_t(v / 2);
  }
  bool ok() const { return ok_; }

 private:
  const Bytes& b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::pair<int, int> h264_sps_dimensions(ByteSpan sps) {
  if (sps.size() < 4) return {0, 0};
  Bytes rbsp;
  for (size_t i = 1; i < sps.size(); ++i) {  // skip the NAL header
    if (i + 2 < sps.size() && sps[i] == 0 && sps[i + 1] == 0 && sps[i + 2] == 3) {
      rbsp.push_back(0);
      rbsp.push_back(0);
      i += 2;
      continue;
    }
    rbsp.push_back(sps[i]);
  }
  BitReader r(rbsp);
  const uint32_t profile = r.bits(8);
  r.bits(16);  // constraints, level
  r.ue();      // seq_parameter_set_id
  uint32_t chroma = 1;
  if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 ||
      profile == 83 || profile == 86 || profile == 118 || profile == 128 || profile == 138 ||
      profile == 139 || profile == 134 || profile == 135) {
    chroma = r.ue();
    if (chroma == 3) r.bit();
    r.ue();
    r.ue();
    r.bit();
    if (r.bit()) {  // scaling matrices
      for (int i = 0; i < (chroma != 3 ? 8 : 12) && r.ok(); ++i) {
        if (!r.bit()) continue;
        int last = 8, next = 8;
        for (int j = 0; j < (i < 6 ? 16 : 64) && r.ok(); ++j) {
          if (next != 0) {
            const int32_t delta = r.se();  // delta_scale: -128..127 (H.264 7.4.2.1.1.1)
            if (delta < -128 || delta > 127) return {0, 0};
            next = (last + delta + 256) % 256;
          }
          last = next == 0 ? last : next;
        }
      }
    }
  }
  r.ue();  // log2_max_frame_num_minus4
  const uint32_t poc_type = r.ue();
  if (poc_type == 0) {
    r.ue();
  } else if (poc_type == 1) {
    r.bit();
    r.se();
    r.se();
    const uint32_t n = r.ue();
    if (n > 255) return {0, 0};
    for (uint32_t i = 0; i < n && r.ok(); ++i) r.se();
  }
  r.ue();   // max_num_ref_frames
  r.bit();  // gaps_in_frame_num_allowed
  const uint32_t w_mbs = r.ue() + 1;
  const uint32_t h_units = r.ue() + 1;
  const uint32_t frame_mbs_only = r.bit();
  if (!frame_mbs_only) r.bit();
  r.bit();  // direct_8x8_inference
  uint32_t crop_l = 0, crop_r = 0, crop_t = 0, crop_b = 0;
  if (r.bit()) {
    crop_l = r.ue();
    crop_r = r.ue();
    crop_t = r.ue();
    crop_b = r.ue();
  }
  if (!r.ok() || w_mbs > 1024 || h_units > 1024) return {0, 0};
  const uint32_t crop_x = chroma == 0 ? 1 : (chroma == 3 ? 1 : 2);
  const uint32_t crop_y = (chroma == 1 ? 2 : 1) * (2 - frame_mbs_only);
  const int64_t w = int64_t(w_mbs) * 16 - int64_t(crop_x) * (crop_l + crop_r);
  const int64_t h =
      int64_t(h_units) * 16 * (2 - frame_mbs_only) - int64_t(crop_y) * (crop_t + crop_b);
  if (w <= 0 || h <= 0) return {0, 0};
  return {int(w), int(h)};
}

std::unique_ptr<Depacketizer> Depacketizer::create(std::string_view codec) {
  std::string c(codec);
  for (char& ch : c) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  if (c == "VP8") return std::make_unique<Vp8Depacketizer>();
  if (c == "VP9") return std::make_unique<Vp9Depacketizer>();
  if (c == "H264") return std::make_unique<H264Depacketizer>();
  if (c == "AV1") return std::make_unique<Av1Depacketizer>();
  if (c == "OPUS") return std::make_unique<OpusDepacketizer>();
  return nullptr;
}

}  // namespace lss::codec
