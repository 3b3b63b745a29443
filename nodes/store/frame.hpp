// Checksummed frames: how lumaflow's binary files (stores, models) wrap each FlatBuffer.
//
//   magic 8 bytes | length uint32 LE | flags uint32 LE | XXH3-64 of the payload (seeded with
//   length | flags << 32) uint64 LE | payload | zero padding to a multiple of 8
//
// The seed binds the checksum to the length, so a damaged length fails the check as surely as a
// damaged payload. Frames start at multiples of 8, which keeps every FlatBuffer (and the float
// vectors inside) aligned in a memory map, and lets a reader resynchronise after damage by
// trying only 8-aligned offsets where the magic occurs — accepted only when the checksum holds.
// Cost: one XXH3 pass over the payload (tens of GB/s).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lumaflow {

using FrameMagic = std::array<uint8_t, 8>;
inline constexpr FrameMagic kStoreMagic = {0x89, 'L', 'F', 'S', 'E', 'G', 0x0D, 0x0A};
inline constexpr FrameMagic kModelMagic = {0x89, 'L', 'F', 'M', 'O', 'D', 0x0D, 0x0A};
inline constexpr size_t kFrameHeaderBytes = 24;
inline constexpr uint32_t kMaxFramePayload = 0x7FFFFFF8u;  // 2 GiB − 8

// Appends one frame around `payload` to `out`.
void append_frame(const FrameMagic& magic, const uint8_t* payload, size_t size, std::vector<uint8_t>& out);

struct FrameView {
  const uint8_t* payload = nullptr;
  size_t size = 0;        // payload bytes
  size_t total = 0;       // frame bytes including header and padding
};

// Checks the frame at data[0..available): magic, length, checksum. On failure returns nullopt
// and, when `why` is given, a short reason ("checksum mismatch", "truncated", ...).
std::optional<FrameView> read_frame(const FrameMagic& magic, const uint8_t* data, size_t available,
                                    std::string* why = nullptr);

// The next 8-aligned offset in [from, size) where an intact frame starts, or nullopt.
std::optional<size_t> find_frame(const FrameMagic& magic, const uint8_t* data, size_t size, size_t from);

bool starts_with_magic(const FrameMagic& magic, const uint8_t* data, size_t size);

}  // namespace lumaflow
