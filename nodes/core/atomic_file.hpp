// Atomic file writes: whole files appear at once or not at all.
//
// AtomicFile writes to a temporary file beside the target (PATH.tmp.<pid>, so two processes never
// share one), and commit() makes it durable in the only order that survives a crash: write all,
// fsync the file, rename it over PATH, fsync the directory. A reader — or the same path after a
// power cut — sees the old file or the new one, never a mix. Not committed (an exception, an early
// return), the destructor removes the temporary file and leaves PATH untouched.
// Errors throw FileError naming the file the user asked for and the system's reason.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lumaflow {

struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "<path>: <what>: <strerror(err)>" — the one shape of every file error message.
std::string file_error_text(const std::filesystem::path& path, const std::string& what, int err);

// Writes all `size` bytes to fd, retrying short writes and EINTR; throws FileError naming `path`.
void write_all(int fd, const void* data, size_t size, const std::filesystem::path& path);

// fsyncs the directory holding `file`, so a rename or a new file in it is durable.
void fsync_directory(const std::filesystem::path& file);

class AtomicFile {
 public:
  // Creates the temporary file. Throws FileError when PATH is a directory or the folder is not
  // writable (checked here, before any work is spent on the content).
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // fsync, close, rename over the target, fsync the directory. Once only.
  void commit();

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temp_path() const { return temp_; }
  int fd() const { return fd_; }

 private:
  void discard() noexcept;
  std::filesystem::path target_, temp_;
  int fd_ = -1;
};

// The whole write in one call.
void write_file_atomic(const std::filesystem::path& path, const void* data, size_t size);
inline void write_file_atomic(const std::filesystem::path& path, std::string_view text) {
  write_file_atomic(path, text.data(), text.size());
}

}  // namespace lumaflow
