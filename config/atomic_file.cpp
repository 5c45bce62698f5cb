#include "config/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sy::config {

namespace {

std::string failed(const std::string& what, const std::string& path) {
  return "cannot " + what + " " + path + ": " + std::strerror(errno);
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

}  // namespace

std::optional<std::string> write_file_atomically(const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp";
  // O_NOFOLLOW: a symlink planted at the temporary name must not redirect the write.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd < 0) return failed("write", tmp);
  // Without the fsync a crash after the rename could leave an empty file under the real name.
  bool ok = write_all(fd, contents) && ::fsync(fd) == 0;
  std::string error = ok ? "" : failed("write", tmp);
  if (::close(fd) != 0 && ok) error = failed("write", tmp), ok = false;
  if (!ok) {
    ::unlink(tmp.c_str());
    return error;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = failed("replace", path);
    ::unlink(tmp.c_str());
    return error;
  }
  // The rename is durable only once the directory entry is on disk.
  const std::string dir = directory_of(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return failed("open directory", dir) + " (" + path + " was replaced but may not survive a crash)";
  if (::fsync(dfd) != 0) error = failed("fsync directory", dir) + " (" + path + " was replaced but may not survive a crash)";
  ::close(dfd);
  if (!error.empty()) return error;
  return std::nullopt;
}

}  // namespace sy::config
