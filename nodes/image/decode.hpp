// Decode: encoded image bytes -> 8-bit image, refusing bad input before it costs anything.
//
// probe_image() reads only the container header (JPEG SOF, PNG IHDR, PNM, BMP, WebP, TIFF) to
// learn format and size, so a file that claims 50,000 × 50,000 pixels is refused before any
// allocation. decode_image() then decodes with OpenCV:
//  - JPEG is decoded straight to luma (the JPEG Y channel is BT.601 luma), or to BGR with
//    `color`, and, when the image is at least 2×, 4× or 8× the target size, at reduced scale by
//    libjpeg's DCT scaling (IMREAD_REDUCED_GRAYSCALE/COLOR_2/4/8): much less work, and the later
//    area resize hides the difference (tests bound the mean absolute difference).
//  - other formats keep their channels (gray, BGR, BGRA; 16-bit is kept) for nodes/luminance.
// Errors throw DecodeError with a reason; the caller adds the path.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <span>
#include <stdexcept>
#include <string>

namespace lumaflow {

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ImageFormat { unknown, jpeg, png, pnm, bmp, webp, tiff };
const char* format_name(ImageFormat f);

struct ImageProbe {
  ImageFormat format = ImageFormat::unknown;
  uint32_t width = 0, height = 0;  // 0 when the header does not say (then decode decides)
};

// Reads the header only. Throws DecodeError for empty input or unrecognised content.
ImageProbe probe_image(std::span<const uint8_t> bytes);

struct DecodeOptions {
  int target_size = 128;          // N of the final N×N crop; drives the reduced JPEG decode
  bool reduced_jpeg = true;       // allow IMREAD_REDUCED_{GRAYSCALE,COLOR}_2/4/8 when big enough
  bool crop = false;              // aspect policy: with crop the short side must cover N
  double max_megapixels = 100.0;  // refuse images whose header declares more
  int min_side = 8;               // refuse degenerate images (e.g. 1×1)
  bool color = false;             // keep colour for JPEG too (the learned embedding's chips are colour)
};

struct DecodedImage {
  cv::Mat image;  // CV_8U or CV_16U, 1, 3 or 4 channels (BGR order)
  ImageFormat format = ImageFormat::unknown;
  uint32_t source_width = 0, source_height = 0;  // as stored in the file
  int reduction = 1;                             // JPEG DCT scale factor used (1, 2, 4 or 8)
};

DecodedImage decode_image(std::span<const uint8_t> bytes, const DecodeOptions& opt = {});

// The JPEG reduction factor decode_image would use for a w×h image (1 when not a JPEG case).
int jpeg_reduction(uint32_t width, uint32_t height, const DecodeOptions& opt);

}  // namespace lumaflow
