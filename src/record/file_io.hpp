#pragma once
// How a clip's bytes reach the disk: write(2) and fdatasync(2) by default.
// The seam lets tests stand in a full or slow disk for the real one.
#include <cstddef>
#include <cstdint>

namespace lss::record {

class FileIo {
 public:
  virtual ~FileIo() = default;
  // Writes all of `data` to `fd`; 0, or the errno of the failure.
  virtual int write(int fd, const uint8_t* data, size_t size);
  // fdatasync(2); 0, or the errno of the failure.
  virtual int sync(int fd);
};

// The real thing, shared by every clip.
FileIo& system_file_io();

}  // namespace lss::record
