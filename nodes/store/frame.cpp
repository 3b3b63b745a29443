#include "nodes/store/frame.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "nodes/core/checksum.hpp"

namespace lumaflow {
namespace {

uint64_t frame_seed(uint32_t length, uint32_t flags) { return uint64_t{length} | (uint64_t{flags} << 32); }

template <class T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // lumaflow's files are little-endian, as is every platform it builds on
  return v;
}

template <class T>
void store_le(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

size_t padded(size_t n) { return (n + 7) & ~size_t{7}; }

}  // namespace

bool starts_with_magic(const FrameMagic& magic, const uint8_t* data, size_t size) {
  return size >= magic.size() && std::memcmp(data, magic.data(), magic.size()) == 0;
}

void append_frame(const FrameMagic& magic, const uint8_t* payload, size_t size, std::vector<uint8_t>& out) {
  if (size > kMaxFramePayload) throw std::length_error("frame payload over 2 GiB");
  const auto length = static_cast<uint32_t>(size);
  const uint32_t flags = 0;
  const size_t start = out.size();
  out.resize(start + kFrameHeaderBytes + padded(size), 0);
  uint8_t* p = out.data() + start;
  std::memcpy(p, magic.data(), magic.size());
  store_le<uint32_t>(p + 8, length);
  store_le<uint32_t>(p + 12, flags);
  store_le<uint64_t>(p + 16, xxh3_64(payload, size, frame_seed(length, flags)));
  if (size > 0) std::memcpy(p + kFrameHeaderBytes, payload, size);
}

std::optional<FrameView> read_frame(const FrameMagic& magic, const uint8_t* data, size_t available,
                                    std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<FrameView> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (available < kFrameHeaderBytes) return fail("truncated frame header");
  if (!starts_with_magic(magic, data, available)) return fail("no segment marker");
  const auto length = load_le<uint32_t>(data + 8);
  const auto flags = load_le<uint32_t>(data + 12);
  const auto check = load_le<uint64_t>(data + 16);
  if (length > kMaxFramePayload) return fail("impossible segment length");
  if (flags != 0) return fail("unknown segment flags");
  if (length > available - kFrameHeaderBytes) return fail("truncated segment");
  const uint8_t* payload = data + kFrameHeaderBytes;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // fuzz/ builds only: reach the parsers behind the checksum
  if (xxh3_64(payload, length, frame_seed(length, flags)) != check) return fail("checksum mismatch");
#else
  (void)check;
#endif
  FrameView v;
  v.payload = payload;
  v.size = length;
  v.total = std::min(available, kFrameHeaderBytes + padded(length));
  return v;
}

std::optional<size_t> find_frame(const FrameMagic& magic, const uint8_t* data, size_t size, size_t from) {
  size_t off = padded(from);
  while (off + kFrameHeaderBytes <= size) {
    const void* hit = ::memmem(data + off, size - off, magic.data(), magic.size());
    if (!hit) return std::nullopt;
    const size_t at = static_cast<size_t>(static_cast<const uint8_t*>(hit) - data);
    if (at % 8 == 0 && read_frame(magic, data + at, size - at)) return at;
    off = padded(at + 1);
  }
  return std::nullopt;
}

}  // namespace lumaflow
