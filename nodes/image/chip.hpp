// Face chips exactly as dlib makes them for its face recognition ResNet.
//
// Input: an 8-bit image as OpenCV decodes it — BGR (CV_8UC3), grey (CV_8UC1, used as R = G = B)
// or BGRA (CV_8UC4, alpha ignored) — and a dlib full_object_detection with 68 landmarks (or
// dlib's 5-point layout) in that image's pixel coordinates.
// Output: a size×size CV_8UC3 chip in **RGB** order (what FaceDescriptorNet::describe takes),
// byte for byte what dlib::extract_image_chip(img, dlib::get_face_chip_details(det, size,
// padding), chip) gives for the same picture held as dlib::matrix<dlib::rgb_pixel>: the
// similarity transform that fits landmarks 27–54 and 60–64 (nose, eyes, outer mouth; not the jaw,
// brows or lower lip) onto dlib's mean face, scaled so the face fills 1/(1 + 2·padding) of the
// chip, then bilinear sampling, from a 2× image pyramid level when the face is much larger than
// the chip. Pixels that map outside the image are black. Defaults are dlib's for its recognition
// model: size 150, padding 0.25.
//
// The work is dlib's own (get_face_chip_details, extract_image_chip), reading the cv::Mat in
// place through dlib::cv_image; cost is dominated by the pyramid when the face is large
// (≈ 0.1–1 ms). Thread-safe: no state.
#pragma once

#include <vector>

#include <dlib/geometry/vector.h>
#include <dlib/image_processing/full_object_detection.h>
#include <opencv2/core.hpp>

namespace lumaflow {

struct ChipOptions {
  int size = 150;         // chip side, px
  double padding = 0.25;  // margin around dlib's mean face, as a fraction of its size
};

// The aligned RGB chip. Throws std::invalid_argument for an empty image, an unsupported type,
// a detection with neither 68 nor 5 parts, or size < 1 / padding < 0.
cv::Mat extract_face_chip(const cv::Mat& image, const dlib::full_object_detection& det, const ChipOptions& opt = {});

// The same from landmarks held as OpenCV points (e.g. FaceAligner::landmarks()); they are
// rounded to whole pixels as dlib's shape predictor output is.
cv::Mat extract_face_chip(const cv::Mat& image, const std::vector<cv::Point2f>& landmarks, const ChipOptions& opt = {});

// Where an image point lands in the chip (chip pixel coordinates; pixel centres at integers),
// from the same chip_details: dlib::get_mapping_to_chip. 2×3 CV_64F affine, image → chip.
cv::Mat face_chip_transform(const dlib::full_object_detection& det, const ChipOptions& opt = {});

// OpenCV landmarks → dlib detection (box = the landmarks' bounding box).
dlib::full_object_detection to_dlib_detection(const std::vector<cv::Point2f>& landmarks);

}  // namespace lumaflow
