#include "nodes/core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lumaflow {

std::string file_error_text(const std::filesystem::path& path, const std::string& what, int err) {
  return path.string() + ": " + what + ": " + std::strerror(err);
}

void write_all(int fd, const void* data, size_t size, const std::filesystem::path& path) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (size > 0) {
    const ssize_t w = ::write(fd, p, size);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw FileError(file_error_text(path, "write failed", errno));
    if (w == 0) throw FileError(file_error_text(path, "write failed", EIO));
    p += w;
    size -= static_cast<size_t>(w);
  }
}

void fsync_directory(const std::filesystem::path& file) {
  const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // nothing to make durable we could reach
  ::fsync(fd);
  ::close(fd);
}

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  struct stat st {};
  if (::stat(target_.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw FileError(file_error_text(target_, "cannot replace", EISDIR));
  temp_ = target_;
  temp_ += ".tmp." + std::to_string(::getpid());
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw FileError(file_error_text(target_, "cannot create a file in its folder", errno));
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(temp_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) throw std::logic_error(target_.string() + ": AtomicFile written after commit");
  try {
    write_all(fd_, data, size, target_);
  } catch (...) {
    discard();
    throw;
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw std::logic_error(target_.string() + ": AtomicFile committed twice");
  int err = 0;
  if (::fsync(fd_) != 0) err = errno;
  if (::close(fd_) != 0 && err == 0) err = errno;
  fd_ = -1;
  if (err == 0 && ::rename(temp_.c_str(), target_.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(temp_.c_str());
    throw FileError(file_error_text(target_, "cannot write", err));
  }
  fsync_directory(target_);
}

void write_file_atomic(const std::filesystem::path& path, const void* data, size_t size) {
  AtomicFile f(path);
  f.write(data, size);
  f.commit();
}

}  // namespace lumaflow
