#include "nodes/image/faces.hpp"

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "nodes/image/align.hpp"
#include "nodes/image/detect.hpp"
#include "nodes/image/luminance.hpp"

namespace lumaflow {

struct FaceTools::Impl {
  FaceMode mode;
  int size;
  FaceDetector detector;
  std::unique_ptr<FaceAligner> aligner;
};

FaceTools::FaceTools(FaceMode mode, int size) {
  if (mode == FaceMode::asis) throw std::invalid_argument("FaceTools: face mode asis needs no face tools");
  impl_ = std::make_unique<Impl>(Impl{mode, size, FaceDetector(DetectOptions{}), nullptr});
  if (mode == FaceMode::align) {
    AlignOptions ao;
    ao.size = size;
    impl_->aligner = std::make_unique<FaceAligner>(ao);
  }
}

FaceTools::~FaceTools() = default;

FaceMode FaceTools::mode() const { return impl_->mode; }

namespace {

// The detector box made square (same centre) and clipped to the frame.
cv::Rect square_box(const cv::Rect& b, cv::Size frame) {
  const int side = std::max(b.width, b.height);
  cv::Rect sq(b.x + b.width / 2 - side / 2, b.y + b.height / 2 - side / 2, side, side);
  return sq & cv::Rect(0, 0, frame.width, frame.height);
}

}  // namespace

std::vector<FaceCrop> FaceTools::faces(const cv::Mat& gray, int reduction, const EmbedOptions& opt) const {
  if (opt.size != impl_->size)
    throw std::logic_error("FaceTools built for size " + std::to_string(impl_->size) + ", asked for " +
                           std::to_string(opt.size));
  std::vector<Detection> found = impl_->detector.detect(gray);
  if (found.empty())
    if (auto d = detect_in_crop(impl_->detector, gray)) found.push_back(*d);
  std::sort(found.begin(), found.end(), [](const Detection& a, const Detection& b) {
    return a.box.x != b.box.x ? a.box.x < b.box.x : a.box.y < b.box.y;
  });
  std::vector<FaceCrop> out;
  int index = 0;
  for (const Detection& d : found) {
    FaceCrop crop;
    cv::Mat face;
    if (impl_->mode == FaceMode::align) {
      AlignedFace a = impl_->aligner->align(gray, d.box);
      face = a.gray;
      crop.landmarks_found = a.landmarks_found;
    } else {
      const cv::Rect sq = square_box(d.box, gray.size());
      if (sq.width < 2 || sq.height < 2) continue;
      face = resize_square(gray(sq), opt.size, Aspect::stretch);
    }
    if (opt.equalize != EqualizeMode::none) face = equalize(face, opt.equalize);
    crop.pixels = flatten(face);
    crop.face_index = index++;
    crop.box = FaceBox{d.box.x * reduction, d.box.y * reduction, d.box.width * reduction, d.box.height * reduction};
    out.push_back(std::move(crop));
  }
  return out;
}

}  // namespace lumaflow
