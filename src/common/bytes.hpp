#pragma once
// Bounds-checked big-endian readers/writers over caller-owned memory. Parsers
// of network input use ByteReader so a truncated or lying length field turns
// into ok() == false instead of an out-of-bounds read.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace lss {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;

inline uint16_t load_be16(const uint8_t* p) {
  return uint16_t(p[0] << 8 | p[1]);
}
inline uint32_t load_be24(const uint8_t* p) {
  return uint32_t(p[0]) << 16 | p[1] << 8 | p[2];
}
inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline uint64_t load_be64(const uint8_t* p) {
  return uint64_t(load_be32(p)) << 32 | load_be32(p + 4);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void store_be24(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 16);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline void store_be64(uint8_t* p, uint64_t v) {
  store_be32(p, uint32_t(v >> 32));
  store_be32(p + 4, uint32_t(v));
}

// Reads big-endian fields; once a read runs past the end, every later read
// returns zero and ok() stays false, so callers check once at the end.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  uint8_t u8() { return need(1) ? data_[pos_++] : 0; }
  uint16_t u16() { return take(2, load_be16); }
  uint32_t u24() { return take(3, load_be24); }
  uint32_t u32() { return take(4, load_be32); }
  uint64_t u64() { return take(8, load_be64); }
  ByteSpan bytes(size_t n) {
    if (!need(n)) return {};
    ByteSpan out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  void skip(size_t n) { (void)bytes(n); }

 private:
  bool need(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  template <typename F>
  auto take(size_t n, F load) -> decltype(load(nullptr)) {
    if (!need(n)) return 0;
    auto v = load(data_.data() + pos_);
    pos_ += n;
    return v;
  }

  ByteSpan data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Appends big-endian fields to a growable buffer (control paths only; the
// media hot path writes into preallocated buffers with store_be*).
class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    grow(2, [&](uint8_t* p) { store_be16(p, v); });
  }
  void u24(uint32_t v) {
    grow(3, [&](uint8_t* p) { store_be24(p, v); });
  }
  void u32(uint32_t v) {
    grow(4, [&](uint8_t* p) { store_be32(p, v); });
  }
  void u64(uint64_t v) {
    grow(8, [&](uint8_t* p) { store_be64(p, v); });
  }
  void bytes(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void bytes(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  void zeros(size_t n) { out_.insert(out_.end(), n, 0); }
  size_t size() const { return out_.size(); }

 private:
  template <typename F>
  void grow(size_t n, F store) {
    out_.resize(out_.size() + n);
    store(out_.data() + out_.size() - n);
  }
  Bytes& out_;
};

}  // namespace lss
