#include "nodes/store/lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "nodes/core/atomic_file.hpp"

namespace lumaflow {
namespace {

std::string own_command() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), {});
  for (char& c : raw)
    if (c == '\0') c = ' ';
  while (!raw.empty() && raw.back() == ' ') raw.pop_back();
  return raw.size() > 200 ? raw.substr(0, 200) : raw;
}

}  // namespace

FileLock::FileLock(const std::filesystem::path& path, const std::string& purpose)
    : lock_path_(path.string() + ".lock") {
  fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw FileError(file_error_text(lock_path_, "cannot create the lock file", errno));
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd_, F_OFD_SETLK, &fl) != 0) {
    const int err = errno;
    std::string holder;
    char buf[512];
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    if (n > 0) holder.assign(buf, static_cast<size_t>(n));
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err != EAGAIN && err != EACCES) throw FileError(file_error_text(lock_path_, "cannot lock", err));
    throw LockedError(path.string() + " is in use by " + (holder.empty() ? "another process" : holder) +
                      ": cannot " + purpose);
  }
  const std::string me = "process " + std::to_string(::getpid()) + " (" + own_command() + ")\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t w = ::pwrite(fd_, me.data(), me.size(), 0);
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the description releases the OFD lock
}

}  // namespace lumaflow
