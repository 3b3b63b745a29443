// An advisory write lock on a file that lumaflow appends to (a store, a model's identities).
//
// The lock lives on a companion file PATH.lock, taken with an open-file-description lock
// (fcntl F_OFD_SETLK): unlike classic POSIX locks it is not dropped when the same process closes
// another descriptor of the file, and unlike flock the holder writes its pid and command line
// into the lock file, so a second writer is told who holds it. The kernel releases the lock when
// the holder exits, however it exits (kill -9 included); the lock file itself stays, harmless.
// Cost: one open + fcntl + small write per acquisition.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace lumaflow {

struct LockedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class FileLock {
 public:
  // Takes the lock for `path` or throws LockedError: "<path> is in use by process <pid> (<command>)".
  // `purpose` ends the message ("... cannot append") and is written into the lock file.
  explicit FileLock(const std::filesystem::path& path, const std::string& purpose = "write");
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::filesystem::path& lock_path() const { return lock_path_; }

 private:
  std::filesystem::path lock_path_;
  int fd_ = -1;
};

}  // namespace lumaflow
