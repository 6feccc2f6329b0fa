#include "common/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace lss {

namespace {
Error errno_error(const std::string& what, const std::string& path) {
  return make_error(what + " " + path + ": " + std::strerror(errno));
}
}  // namespace

Status write_file_durably(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("cannot create", tmp);
  // A failure leaves no half-written .tmp behind.
  auto fail = [&](const char* what) {
    Error e = errno_error(what, tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write");
    done += size_t(n);
  }
  if (::fdatasync(fd) != 0) return fail("cannot sync");
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("cannot rename", tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  return sync_directory(std::filesystem::path(path).parent_path().string());
}

Status sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open", path);
  const bool ok = ::fdatasync(fd) == 0;
  Status st = ok ? Status() : Status(errno_error("cannot sync", path));
  ::close(fd);
  return st;
}

Status sync_directory(const std::string& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open", dir);
  const bool ok = ::fsync(fd) == 0;
  Status st = ok ? Status() : Status(errno_error("cannot sync", dir));
  ::close(fd);
  return st;
}

}  // namespace lss
