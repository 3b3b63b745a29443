// Luminance: any decoded image -> 8-bit gray, ITU-R BT.601 luma; and gray -> vector.
//
// BGR/BGRA use Y = 0.299 R + 0.587 G + 0.114 B (OpenCV's fixed-point BGR2GRAY, rounded; the
// same weights as PIL's convert("L")); alpha is ignored, as PIL does. 16-bit input is scaled
// to 8 bits by /257 with rounding so 65535 maps to 255. 8-bit gray passes through untouched.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace lumaflow {

// Returns a CV_8UC1 image the size of `image`. Throws std::invalid_argument for other types.
cv::Mat to_luminance(const cv::Mat& image);

// Row-major copy of an 8-bit single-channel image's pixels.
std::vector<uint8_t> flatten(const cv::Mat& gray);

}  // namespace lumaflow
