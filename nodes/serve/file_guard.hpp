// Which files the live page may fetch: only regular files whose real path (every symlink
// resolved) lies under one of the given roots (the watched folder, the annotate folder).
// A requested path with a ".." component is refused before it is resolved, whatever it would
// resolve to; so is one that still holds a percent escape after the one URL decoding the server
// did ("%2e%2e" sent as "%252e%252e"), and one whose real path leaves every root (a symlink
// leading out). Relative paths are taken from the process's working folder (as `watch` prints
// them: the watched DIR as given / relative path).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace lumaflow {

struct GuardResult {
  bool ok = false;
  int status = 403;            // 403 refused, 404 missing (when !ok)
  std::filesystem::path real;  // the resolved file (when ok)
  std::string reason;          // why not (when !ok)
};

class FileGuard {
 public:
  // Roots that do not exist are dropped; the others are kept by their real path.
  explicit FileGuard(const std::vector<std::filesystem::path>& roots);
  GuardResult check(const std::string& requested) const;
  const std::vector<std::filesystem::path>& roots() const { return roots_; }

 private:
  std::vector<std::filesystem::path> roots_;
};

}  // namespace lumaflow
