#pragma once
// A byte range of a file as a Beast File, so a response streams just that
// range from disk (bhttp::basic_file_body<RangeFile>) instead of holding it
// in memory: recordings are served with Range requests and may be large.
#include <boost/beast/core/file.hpp>
#include <cstdint>

namespace lss::http {

class RangeFile {
 public:
  using error_code = boost::system::error_code;

  // The whole file, until set_range() narrows it.
  void open(const char* path, boost::beast::file_mode mode, error_code& ec) {
    file_.open(path, mode, ec);
    first_ = 0;
    length_ = ec ? 0 : file_.size(ec);
  }
  // Bytes [first, first + length) from here on; positions are relative to `first`.
  void set_range(uint64_t first, uint64_t length, error_code& ec) {
    first_ = first;
    length_ = length;
    file_.seek(first, ec);
  }
  bool is_open() const { return file_.is_open(); }
  void close(error_code& ec) { file_.close(ec); }
  uint64_t size(error_code& ec) const {
    ec = {};
    return length_;
  }
  uint64_t pos(error_code& ec) const {
    const uint64_t p = file_.pos(ec);
    return p > first_ ? p - first_ : 0;
  }
  void seek(uint64_t offset, error_code& ec) { file_.seek(first_ + offset, ec); }
  size_t read(void* buffer, size_t n, error_code& ec) {
    const uint64_t at = pos(ec);
    if (ec) return 0;
    const uint64_t left = at < length_ ? length_ - at : 0;
    return file_.read(buffer, size_t(n < left ? n : left), ec);
  }
  size_t write(const void*, size_t, error_code& ec) {
    ec = make_error_code(boost::system::errc::operation_not_permitted);  // read-only
    return 0;
  }

 private:
  boost::beast::file file_;
  uint64_t first_ = 0, length_ = 0;
};

}  // namespace lss::http
