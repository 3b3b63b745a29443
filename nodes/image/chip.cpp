#include "nodes/image/chip.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include <dlib/image_transforms/interpolation.h>
#include <dlib/matrix.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>

namespace lumaflow {

namespace {

dlib::chip_details chip_details_for(const dlib::full_object_detection& det, const ChipOptions& opt) {
  // dlib checks these with DLIB_CASSERT (an abort-like fatal_error); a caller's mistake should be
  // an ordinary exception instead.
  if (det.num_parts() != 68 && det.num_parts() != 5)
    throw std::invalid_argument("extract_face_chip: need a 68- or 5-point detection, got " +
                                std::to_string(det.num_parts()) + " points");
  if (opt.size < 1 || !(opt.padding >= 0))
    throw std::invalid_argument("extract_face_chip: size must be >= 1 and padding >= 0");
  return dlib::get_face_chip_details(det, static_cast<unsigned long>(opt.size), opt.padding);
}

template <class Pixel>
cv::Mat extract_as(const cv::Mat& image, const dlib::chip_details& details) {
  // cv_image reads the Mat in place (no copy); the destination pixel type makes dlib write RGB.
  const dlib::cv_image<Pixel> view(image);
  dlib::matrix<dlib::rgb_pixel> chip;
  dlib::extract_image_chip(view, details, chip);
  cv::Mat out(static_cast<int>(chip.nr()), static_cast<int>(chip.nc()), CV_8UC3);
  for (int y = 0; y < out.rows; ++y) {
    auto* row = out.ptr<uint8_t>(y);
    for (int x = 0; x < out.cols; ++x) {
      const dlib::rgb_pixel& p = chip(y, x);
      row[3 * x] = p.red;
      row[3 * x + 1] = p.green;
      row[3 * x + 2] = p.blue;
    }
  }
  return out;
}

}  // namespace

dlib::full_object_detection to_dlib_detection(const std::vector<cv::Point2f>& landmarks) {
  std::vector<dlib::point> parts;
  parts.reserve(landmarks.size());
  for (const auto& p : landmarks) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y))
      throw std::invalid_argument("to_dlib_detection: landmark is not finite");
    parts.emplace_back(std::lround(p.x), std::lround(p.y));
  }
  dlib::rectangle box;
  for (const auto& p : parts) box += p;
  return dlib::full_object_detection(box, parts);
}

cv::Mat extract_face_chip(const cv::Mat& image, const dlib::full_object_detection& det, const ChipOptions& opt) {
  if (image.empty()) throw std::invalid_argument("extract_face_chip: empty image");
  if (image.depth() != CV_8U) throw std::invalid_argument("extract_face_chip: need an 8-bit image");
  const auto details = chip_details_for(det, opt);
  switch (image.channels()) {
    case 3: return extract_as<dlib::bgr_pixel>(image, details);
    case 1: return extract_as<unsigned char>(image, details);
    case 4: {
      // dlib's bilinear interpolation refuses alpha pixels; drop alpha first, as imread would.
      cv::Mat bgr;
      cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR);
      return extract_as<dlib::bgr_pixel>(bgr, details);
    }
    default:
      throw std::invalid_argument("extract_face_chip: need 1, 3 or 4 channels, got " +
                                  std::to_string(image.channels()));
  }
}

cv::Mat extract_face_chip(const cv::Mat& image, const std::vector<cv::Point2f>& landmarks, const ChipOptions& opt) {
  return extract_face_chip(image, to_dlib_detection(landmarks), opt);
}

cv::Mat face_chip_transform(const dlib::full_object_detection& det, const ChipOptions& opt) {
  const dlib::point_transform_affine t = dlib::get_mapping_to_chip(chip_details_for(det, opt));
  cv::Mat m(2, 3, CV_64F);
  for (int r = 0; r < 2; ++r) {
    m.at<double>(r, 0) = t.get_m()(r, 0);
    m.at<double>(r, 1) = t.get_m()(r, 1);
    m.at<double>(r, 2) = t.get_b()(r);
  }
  return m;
}

}  // namespace lumaflow
