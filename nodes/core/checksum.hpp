// Checksums for everything lumaflow writes: XXH3-64 from libxxhash (Debian's libxxhash-dev).
//
// XXH3 is fast (tens of GB/s, far above disk speed) and well tested; it detects corruption, it
// does not authenticate. `seed` lets a caller bind the hash to a context (e.g. the length that
// precedes the bytes), so a damaged length field fails the check too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lumaflow {

uint64_t xxh3_64(const void* data, size_t size, uint64_t seed = 0);
inline uint64_t xxh3_64(std::string_view s, uint64_t seed = 0) { return xxh3_64(s.data(), s.size(), seed); }

// 16 lower-case hex digits.
std::string hex64(uint64_t v);

// Incremental XXH3-64 over several pieces (the same value as one call over their concatenation).
class Xxh3Stream {
 public:
  explicit Xxh3Stream(uint64_t seed = 0);
  ~Xxh3Stream();
  Xxh3Stream(const Xxh3Stream&) = delete;
  Xxh3Stream& operator=(const Xxh3Stream&) = delete;
  void update(const void* data, size_t size);
  uint64_t digest() const;

 private:
  void* state_;
};

}  // namespace lumaflow
