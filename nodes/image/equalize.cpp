#include "nodes/image/equalize.hpp"

#include <stdexcept>

#include <opencv2/imgproc.hpp>

namespace lumaflow {

cv::Mat equalize(const cv::Mat& gray, Equalize mode, double clahe_clip, int clahe_tile) {
  if (gray.empty()) throw std::invalid_argument("equalize: empty image");
  if (gray.type() != CV_8UC1) throw std::invalid_argument("equalize: expected a CV_8UC1 image");
  cv::Mat out;
  switch (mode) {
    case Equalize::none: out = gray.clone(); break;
    case Equalize::hist: cv::equalizeHist(gray, out); break;
    case Equalize::clahe: {
      if (!(clahe_clip > 0)) throw std::invalid_argument("equalize: clahe_clip must be > 0");
      if (clahe_tile < 1) throw std::invalid_argument("equalize: clahe_tile must be >= 1");
      auto clahe = cv::createCLAHE(clahe_clip, cv::Size(clahe_tile, clahe_tile));
      clahe->apply(gray, out);
      break;
    }
    default: throw std::invalid_argument("equalize: unknown mode");
  }
  return out;
}

}  // namespace lumaflow
