// The one rule that turns stored pixel bytes into vector values: v = byte × (1/255), in [0, 1].
//
// Every path that makes a vector from pixels (the store's matrix, fit, classify, watch, export,
// evaluate) goes through here, so a face gives bit-identical floats wherever it is read: byte/255
// and byte×(1/255) differ in the last bit for 126 of the 256 values.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nodes/core/matrix.hpp"

namespace lumaflow {

inline constexpr float kPixelScale = 1.0f / 255.0f;

inline float pixel_value(uint8_t byte) { return static_cast<float>(byte) * kPixelScale; }

inline void pixels_to_row(const uint8_t* pixels, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) out[i] = pixel_value(pixels[i]);
}

// rows × dims bytes, row-major -> rows × dims floats.
inline RowMatrixF pixel_rows(const uint8_t* pixels, size_t rows, size_t dims) {
  RowMatrixF x(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(dims));
  pixels_to_row(pixels, rows * dims, x.data());
  return x;
}

}  // namespace lumaflow
