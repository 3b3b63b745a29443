// Fuzz harness helpers: the loaders take a path, so each input is written to a per-process
// scratch file (in /dev/shm when there is one: no disk traffic per execution).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace lumaflow::fuzz {

inline std::filesystem::path scratch_file(const char* name) {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
  return dir / ("lumaflow-fuzz-" + std::to_string(::getpid()) + "-" + name);
}

inline void write_bytes(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
}

}  // namespace lumaflow::fuzz
