// libFuzzer harness: the decode path (probe + decode_image) on arbitrary bytes, as embed and
// watch run it on every file. Accepted outcomes: an image within the limits or DecodeError.
#include <cstdint>
#include <iostream>
#include <opencv2/core/utils/logger.hpp>
#include <span>

#include "nodes/image/decode.hpp"

using namespace lumaflow;

// OpenCV's warnings, and the lines imdecode writes to std::cerr for a bad header, would drown
// libFuzzer's output (sanitizer reports go to fd 2 directly and still show).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  std::cerr.rdbuf(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  DecodeOptions opt;
  opt.max_megapixels = 16;    // keeps each run's memory within libFuzzer's limit under ASan
  opt.color = size % 2 == 1;  // both JPEG paths: luma (reduced) and colour
  opt.target_size = 4;        // lets the reduced JPEG decodes run on small inputs
  try {
    const DecodedImage d = decode_image(bytes, opt);
    if (d.image.empty() || d.source_width == 0 || d.source_height == 0) __builtin_trap();
    if (static_cast<double>(d.source_width) * d.source_height / 1e6 > opt.max_megapixels) __builtin_trap();
  } catch (const DecodeError&) {
  }
  return 0;
}
