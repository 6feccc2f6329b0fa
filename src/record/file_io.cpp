#include "record/file_io.hpp"

#include <unistd.h>

#include <cerrno>

namespace lss::record {

int FileIo::write(int fd, const uint8_t* data, size_t size) {
  // A short write is not a failure yet: the next one says why (ENOSPC).
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= size_t(n);
  }
  return 0;
}

int FileIo::sync(int fd) {
  return ::fdatasync(fd) == 0 ? 0 : errno;
}

FileIo& system_file_io() {
  static FileIo io;
  return io;
}

}  // namespace lss::record
