#include "nodes/faces.hpp"

#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace lumaflow {

cv::Mat equalize_face(const cv::Mat& gray, EqualizeMode mode) {
  cv::Mat out;
  if (mode == EqualizeMode::hist) {
    cv::equalizeHist(gray, out);
  } else if (mode == EqualizeMode::clahe) {
    cv::createCLAHE(2.0, cv::Size(8, 8))->apply(gray, out);
  } else {
    out = gray.clone();
  }
  return out;
}

struct FaceTools::Impl {};

FaceTools::FaceTools(FaceMode mode) : impl_(std::make_unique<Impl>()) {
  if (mode != FaceMode::asis) throw std::runtime_error("face detection is not built yet");
}

FaceTools::~FaceTools() = default;

std::vector<FaceCrop> FaceTools::faces(const cv::Mat&, int, const EmbedOptions&) const {
  throw std::runtime_error("face detection is not built yet");
}

}  // namespace lumaflow
