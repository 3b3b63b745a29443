// Face detection in full frames.
//
// Input: an 8-bit gray (CV_8UC1), BGR (CV_8UC3) or BGRA (CV_8UC4) image of any size.
// Output: face boxes in the input image's pixel coordinates (clipped to the image), sorted by
// score (descending), then by y, then by x.
//
// Three back-ends: dlib's HOG + linear SVM frontal detector (kind = hog), OpenCV's Haar cascade
// (haarcascade_frontalface_default.xml) and LBP cascade (lbpcascade_frontalface_improved.xml)
// from Debian's opencv-data. The frame is resampled once by
//     s = min(upscale, max_side / max(width, height))
// before detection, so cost is bounded by max_side (≈ O(max_side²) per frame) and faces are
// found down to about native_window / s pixels in the original frame (HOG: 80 px window,
// Haar: 24, LBP: 45; min_face further restricts). Boxes are mapped back by 1/s.
//
// Scores are back-end specific: the HOG SVM margin (≥ 0 at dlib's threshold), or the number of
// merged cascade hits ("neighbours") for haar/lbp. min_score applies to that value.
//
// detect() is const and safe to call from several threads at once. HOG runs dlib's detector in
// pieces (pyramid levels, then level × filter bank) that only read the one decoded model, so a
// frame's detection can also be spread over threads (the `each` argument) with dlib's exact
// boxes and scores; cv::CascadeClassifier cannot be shared while detecting, so each cascade call
// leases an engine from a small internal pool (grows to the number of concurrent callers).
// Construction: the first HOG detector in a process decodes dlib's embedded model (~1–2.5 s,
// once); a cascade is parsed from XML (~10–50 ms) per FaceDetector.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nodes/core/parallel.hpp"

namespace lumaflow {

enum class DetectorKind { hog, haar, lbp };

struct DetectOptions {
  DetectorKind kind = DetectorKind::hog;
  // Cascade XML for haar/lbp; empty = the Debian default under LUMAFLOW_OPENCV_DATA.
  // Ignored for hog (the model is compiled into dlib).
  std::string model_path;
  int min_face = 40;          // px in the original frame; smaller boxes are dropped
  double upscale = 2.0;       // > 1 finds smaller faces (HOG's window is 80 px); capped by max_side
  double max_side = 1280;     // the detection image never exceeds this many px on its long side
  float nms_iou = 0.3f;       // boxes overlapping a better one by more than this are dropped
  float min_score = 0.0f;     // back-end specific, see above
  double scale_factor = 1.1;  // cascades: pyramid step
  // haar/lbp: rescale boxes to the HOG detector's convention (brows to chin, ≈ 0.9 of a tight
  // 150 px tvshow crop). Haar's raw boxes are ~13% larger and higher, LBP's ~26% smaller.
  bool calibrate_boxes = true;
  int min_neighbors =
      5;  // cascades: hits needed to accept a box (OpenCV default 3: 4× the false positives on bbt1–5, same recall)
};

struct Detection {
  cv::Rect box;
  float score = 0.f;
};

// Intersection over union of two boxes; 0 when either is empty.
float iou(const cv::Rect& a, const cv::Rect& b);

// Greedy NMS: best score first (ties by y, then x); a box survives if its IoU with every
// survivor is ≤ iou_threshold. Output in that order. O(n²).
std::vector<Detection> non_max_suppression(std::vector<Detection> d, float iou_threshold);

// Default cascade file for a kind ("" for hog).
std::string default_cascade_path(DetectorKind kind);

class FaceDetector {
 public:
  // Throws std::runtime_error naming the missing/unreadable cascade file and the Debian package
  // (opencv-data); std::invalid_argument for nonsensical options.
  explicit FaceDetector(const DetectOptions& options = {});
  ~FaceDetector();
  FaceDetector(const FaceDetector&);  // copies share the model and engine pool (detect() is thread-safe)
  FaceDetector& operator=(const FaceDetector&);

  // `each` spreads one frame's HOG work (pyramid levels, filter banks) over threads; the result
  // is the same whatever runs it (ForEach, nodes/core/parallel.hpp; empty = this thread).
  std::vector<Detection> detect(const cv::Mat& image, const ForEach& each = {}) const;

  // The resampling factor detect() applies to an image of this size.
  double detection_scale(cv::Size image_size) const;

  const DetectOptions& options() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// For an image that is already a face crop (e.g. tvshow's 150×150, orl's 92×112): the best
// detection on a copy padded by pad·max(w, h) with replicated borders — a face that fills the
// crop is otherwise cut by the edge and missed — mapped back to crop coordinates and clipped.
// nullopt when nothing is found. Such a box is the right input for FaceAligner::align: dlib's
// landmark model was trained on HOG boxes, and a loose whole-image box biases the landmarks.
std::optional<Detection> detect_in_crop(const FaceDetector& detector, const cv::Mat& crop, double pad = 0.25);

}  // namespace lumaflow
