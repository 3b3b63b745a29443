#include "nodes/image/luminance.hpp"

#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace lumaflow {

cv::Mat to_luminance(const cv::Mat& image) {
  if (image.empty()) throw std::invalid_argument("luminance: empty image");
  cv::Mat img8;
  if (image.depth() == CV_8U) {
    img8 = image;
  } else if (image.depth() == CV_16U) {
    image.convertTo(img8, CV_8U, 1.0 / 257.0);
  } else {
    throw std::invalid_argument("luminance: unsupported pixel depth");
  }
  cv::Mat gray;
  switch (img8.channels()) {
    case 1: gray = img8; break;
    case 3: cv::cvtColor(img8, gray, cv::COLOR_BGR2GRAY); break;
    case 4: cv::cvtColor(img8, gray, cv::COLOR_BGRA2GRAY); break;
    default: throw std::invalid_argument("luminance: unsupported channel count " + std::to_string(img8.channels()));
  }
  return gray;
}

std::vector<uint8_t> flatten(const cv::Mat& gray) {
  if (gray.type() != CV_8UC1) throw std::invalid_argument("flatten: expected an 8-bit single-channel image");
  std::vector<uint8_t> out(static_cast<size_t>(gray.rows) * static_cast<size_t>(gray.cols));
  for (int r = 0; r < gray.rows; ++r)
    std::copy(gray.ptr<uint8_t>(r), gray.ptr<uint8_t>(r) + gray.cols,
              out.begin() + static_cast<std::ptrdiff_t>(r) * gray.cols);
  return out;
}

}  // namespace lumaflow
