// A whole file mapped read-only into memory (mmap), for stores and models.
//
// Readers take the bytes where they lie instead of copying them: a 100,000-face store is 1.6 GB
// of pixels that the kernel pages in on demand and may drop again under pressure. The mapping is
// private and read-only; it stays valid while any copy of the shared_ptr lives, also when the
// file is replaced by rename (the old inode lives on). A file that another process truncates
// while mapped would fault on access: lumaflow's writers only append or replace by rename.
// An empty file maps to size() == 0 and data() == nullptr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace lumaflow {

class MappedFile {
 public:
  // Throws FileError (nodes/core/atomic_file.hpp) naming the path when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lumaflow
