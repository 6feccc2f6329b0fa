#include "rtp/header_extension_writer.hpp"

#include <cstring>

namespace lss {

namespace {

// Where the elements of a block end (trailing padding excluded), and
// whether an element `id` is there (offset and length of its value).
struct Scan {
  bool ok = false;
  size_t used_end = 0;  // just past the last element
  size_t found_at = 0, found_len = 0;
  bool found = false;
};

Scan scan_block(const uint8_t* p, size_t start, size_t end, bool one_byte, uint8_t id) {
  Scan s;
  size_t i = start;
  s.used_end = start;
  while (i < end) {
    if (p[i] == 0) {  // padding
      ++i;
      continue;
    }
    size_t value_at, len;
    uint8_t eid;
    if (one_byte) {
      eid = p[i] >> 4;
      if (eid == 15) break;  // reserved: the rest is not elements
      len = size_t(p[i] & 0x0f) + 1;
      value_at = i + 1;
    } else {
      if (i + 2 > end) return s;
      eid = p[i];
      len = p[i + 1];
      value_at = i + 2;
    }
    if (value_at + len > end) return s;
    if (eid == id && !s.found) {
      s.found = true;
      s.found_at = value_at;
      s.found_len = len;
    }
    i = value_at + len;
    s.used_end = i;
  }
  s.ok = true;
  return s;
}

}  // namespace

size_t set_header_extension(uint8_t* buf, size_t size, size_t capacity, uint8_t id,
                            ByteSpan value) {
  if (size < 12 || (buf[0] >> 6) != 2 || id == 0 || value.empty()) return 0;
  const size_t header = 12 + 4 * size_t(buf[0] & 0x0f);
  if (header > size) return 0;
  const bool has_ext = buf[0] & 0x10;
  if (!has_ext) {
    // A new one-byte block when the id allows, else a two-byte one.
    const bool one_byte = id <= 14 && value.size() <= 16;
    if (!one_byte && value.size() > 255) return 0;
    const size_t element = (one_byte ? 1 : 2) + value.size();
    const size_t block = 4 + (element + 3) / 4 * 4;
    if (size + block > capacity) return 0;
    std::memmove(buf + header + block, buf + header, size - header);
    uint8_t* b = buf + header;
    store_be16(b, one_byte ? 0xBEDE : 0x1000);
    store_be16(b + 2, uint16_t((block - 4) / 4));
    std::memset(b + 4, 0, block - 4);
    if (one_byte) {
      b[4] = uint8_t(id << 4 | (value.size() - 1));
      std::memcpy(b + 5, value.data(), value.size());
    } else {
      b[4] = id;
      b[5] = uint8_t(value.size());
      std::memcpy(b + 6, value.data(), value.size());
    }
    buf[0] |= 0x10;
    return size + block;
  }
  if (header + 4 > size) return 0;
  const uint16_t profile = load_be16(buf + header);
  const bool one_byte = profile == 0xBEDE;
  const bool two_byte = (profile & 0xFFF0) == 0x1000;
  if (!one_byte && !two_byte) return 0;
  if (one_byte && (id > 14 || value.size() > 16)) return 0;
  if (value.size() > 255) return 0;
  const size_t start = header + 4;
  const size_t end = start + 4 * size_t(load_be16(buf + header + 2));
  if (end > size) return 0;
  const Scan s = scan_block(buf, start, end, one_byte, id);
  if (!s.ok) return 0;
  if (s.found) {
    if (s.found_len != value.size()) return 0;
    std::memcpy(buf + s.found_at, value.data(), value.size());
    return size;
  }
  const size_t element = (one_byte ? 1 : 2) + value.size();
  size_t grow = 0;
  if (end - s.used_end < element) {
    grow = (element - (end - s.used_end) + 3) / 4 * 4;
    if (size + grow > capacity) return 0;
    std::memmove(buf + end + grow, buf + end, size - end);
    std::memset(buf + end, 0, grow);
    store_be16(buf + header + 2, uint16_t((end + grow - start) / 4));
  }
  uint8_t* e = buf + s.used_end;
  if (one_byte) {
    e[0] = uint8_t(id << 4 | (value.size() - 1));
    std::memcpy(e + 1, value.data(), value.size());
  } else {
    e[0] = id;
    e[1] = uint8_t(value.size());
    std::memcpy(e + 2, value.data(), value.size());
  }
  return size + grow;
}

}  // namespace lss
