#include "nodes/image/faces.hpp"

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <stdexcept>

#include "nodes/image/align.hpp"
#include "nodes/image/chip.hpp"
#include "nodes/image/detect.hpp"
#include "nodes/image/luminance.hpp"

namespace lumaflow {

struct FaceTools::Impl {
  FaceMode mode;
  int size;
  std::optional<FaceDetector> detector;
  std::unique_ptr<FaceAligner> aligner;
  std::optional<FaceDescriptorNet> net;
};

FaceTools::FaceTools(FaceMode mode, int size) {
  if (mode == FaceMode::asis) throw std::invalid_argument("FaceTools: face mode asis needs no face tools");
  impl_ = std::make_unique<Impl>(Impl{mode, size, FaceDetector(DetectOptions{}), nullptr, std::nullopt});
  if (mode == FaceMode::align) {
    AlignOptions ao;
    ao.size = size;
    impl_->aligner = std::make_unique<FaceAligner>(ao);
  }
}

FaceTools::FaceTools(const EmbedOptions& opt, const std::string& models_dir) {
  impl_ = std::make_unique<Impl>(Impl{opt.faces, opt.size, std::nullopt, nullptr, std::nullopt});
  if (opt.faces != FaceMode::asis) impl_->detector.emplace(DetectOptions{});
  // The chip is cut from the 68 landmarks in both detect and align modes (dlib's recipe).
  if (opt.faces == FaceMode::align || (opt.faces == FaceMode::detect && opt.embedding == Embedding::resnet)) {
    AlignOptions ao;
    ao.size = opt.size;
    impl_->aligner = std::make_unique<FaceAligner>(ao);
  }
  if (opt.embedding == Embedding::resnet) impl_->net.emplace(FaceDescriptorNet::load(locate_models_dir(models_dir)));
}

FaceTools::~FaceTools() = default;

FaceMode FaceTools::mode() const { return impl_->mode; }

const FaceDescriptorNet* FaceTools::net() const { return impl_->net ? &*impl_->net : nullptr; }

namespace {

// The detector box made square (same centre) and clipped to the frame.
cv::Rect square_box(const cv::Rect& b, cv::Size frame) {
  const int side = std::max(b.width, b.height);
  cv::Rect sq(b.x + b.width / 2 - side / 2, b.y + b.height / 2 - side / 2, side, side);
  return sq & cv::Rect(0, 0, frame.width, frame.height);
}

}  // namespace

namespace {

// Detections left to right; a frame without any is retried as a tight face crop.
std::vector<Detection> find_faces(const FaceDetector& detector, const cv::Mat& gray, const ForEach& each = {}) {
  std::vector<Detection> found = detector.detect(gray, each);
  if (found.empty())
    if (auto d = detect_in_crop(detector, gray)) found.push_back(*d);
  std::sort(found.begin(), found.end(), [](const Detection& a, const Detection& b) {
    return a.box.x != b.box.x ? a.box.x < b.box.x : a.box.y < b.box.y;
  });
  return found;
}

}  // namespace

std::vector<FaceCrop> FaceTools::chips(const cv::Mat& image, const cv::Mat& gray, int reduction,
                                       const ForEach& each) const {
  if (!impl_->detector || !impl_->aligner) throw std::logic_error("FaceTools: chips() needs detect or align mode");
  const std::vector<Detection> found = find_faces(*impl_->detector, gray, each);
  std::vector<FaceCrop> out(found.size());
  for_each(each, static_cast<std::ptrdiff_t>(found.size()), [&](std::ptrdiff_t i) {
    const Detection& d = found[static_cast<size_t>(i)];
    const std::vector<cv::Point2f> pts = impl_->aligner->landmarks(gray, d.box);
    FaceCrop& crop = out[static_cast<size_t>(i)];
    crop.chip = extract_face_chip(image, pts);
    crop.landmarks_found = FaceAligner::plausible(pts, d.box);
    crop.face_index = static_cast<int>(i);
    crop.box = FaceBox{d.box.x * reduction, d.box.y * reduction, d.box.width * reduction, d.box.height * reduction};
  });
  return out;
}

std::vector<FaceCrop> FaceTools::faces(const cv::Mat& gray, int reduction, const EmbedOptions& opt) const {
  if (opt.size != impl_->size)
    throw std::logic_error("FaceTools built for size " + std::to_string(impl_->size) + ", asked for " +
                           std::to_string(opt.size));
  if (!impl_->detector) throw std::logic_error("FaceTools: faces() needs detect or align mode");
  const std::vector<Detection> found = find_faces(*impl_->detector, gray);
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
