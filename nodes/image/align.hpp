// Landmark alignment: a face box in an image → an upright size×size gray crop.
//
// Input: an 8-bit gray/BGR/BGRA image and a face box in its pixel coordinates (typically a
// FaceDetector box; for an image that is already a tight face crop, whole_image_box()).
// Output: AlignedFace with a size×size CV_8UC1 crop. dlib's 68-point shape predictor finds the
// landmarks inside the box; the eye centres (mean of points 36–41 / 42–47) and the mouth
// centre (midpoint of the mouth corners 48, 54 — stable when the mouth opens) are mapped by the
// least-squares similarity transform (rotation, uniform scale, translation) onto canonical
// positions in the crop (mouth weighted by mouth_weight). Resampling: the source region is first reduced with
// INTER_AREA to roughly the output resolution, then warped with INTER_LINEAR (border replicated), so strong
// down-scaling does not alias. Cost: ~1–3 ms per face, dominated by the landmark cascade.
//
// "left" is the eye with the smaller x in the image (the subject's right eye).
// If the landmarks are implausible (eyes not roughly level, outside the box, mouth not under
// the eyes, odd proportions) the crop falls back to a square around the box centre with side
// max(w, h) and landmarks_found = false.
//
// align() is const and thread-safe: dlib's shape_predictor::operator() is const and keeps no
// state between calls; each call uses only its own buffers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace lumaflow {

struct AlignOptions {
  // dlib 68-point model; empty = LUMAFLOW_DLIB_DATA "/shape_predictor_68_face_landmarks.dat".
  std::string landmarks_path;
  int size = 128;  // output is size × size
  // Canonical positions as fractions of size: eyes at ((0.5 ∓ eye_dx)·N, eye_y·N), mouth centre
  // at (0.5·N, mouth_y·N). The defaults follow the average geometry of real faces (mouth
  // centre ≈ 1.05 × the inter-eye distance below the eyes, measured with dlib on orl/tvshow),
  // so the least-squares fit puts each point within ~1–2 px of its target, and frame the face
  // tightly: brows to chin, cheek to cheek, little hair or background.
  float eye_y = 0.38f;
  float eye_dx = 0.20f;  // half the inter-eye distance as a fraction of N
  float mouth_y = 0.80f;
  // Weight of the mouth in the fit (eyes weigh 1). The mouth moves with expression and face
  // proportions vary (mouth-below-eyes / inter-eye distance: sd ≈ 0.1–0.13 around 1.0–1.1),
  // so it steadies roll and scale without pulling the eyes off their targets.
  float mouth_weight = 0.25f;
};

struct AlignedFace {
  cv::Mat gray;                            // size × size CV_8UC1
  bool landmarks_found = false;            // false → fell back to a square crop of the box
  cv::Point2f left_eye, right_eye, mouth;  // landmark estimates in source-image pixels
  std::vector<cv::Point2f> landmarks;      // all 68 points, source-image pixels
  cv::Mat transform;                       // 2×3 CV_64F similarity, source → crop
};

// Weighted least-squares similarity (rotation, uniform scale, translation; no reflection)
// mapping from[i] → to[i]: minimises Σ w_i ‖T·from_i − to_i‖². 2×3 CV_64F. Needs ≥ 2 points
// with positive weight, not all coincident; empty weights = all 1. Closed form.
cv::Mat estimate_similarity(const std::vector<cv::Point2f>& from, const std::vector<cv::Point2f>& to,
                            const std::vector<double>& weights = {});

class FaceAligner {
 public:
  // Loads the 68-point model once (~1 s). Throws std::runtime_error
  // "landmark model not found: <path> (install the Debian package libdlib-data)" when the file
  // is missing, and a similar message naming the path when it is unreadable or corrupt;
  // std::invalid_argument for bad options.
  explicit FaceAligner(const AlignOptions& options = {});
  ~FaceAligner();
  FaceAligner(const FaceAligner&);  // shares the (immutable) model
  FaceAligner& operator=(const FaceAligner&);

  AlignedFace align(const cv::Mat& gray_or_bgr, const cv::Rect& face_box) const;

  // The fallback on its own (no landmarks): a square of side max(w, h) centred on the box,
  // resampled to size × size exactly as align() does; landmarks_found = false, no landmarks.
  AlignedFace crop_box(const cv::Mat& gray_or_bgr, const cv::Rect& face_box) const;

  // The 68 raw landmarks for a box (source-image pixels).
  std::vector<cv::Point2f> landmarks(const cv::Mat& gray_or_bgr, const cv::Rect& face_box) const;

  // The eye centres (means of points 36–41 and 42–47, ordered left to right in the image) and
  // the mouth centre (midpoint of 48 and 54) of 68 landmarks.
  struct KeyPoints {
    cv::Point2f left_eye, right_eye, mouth;
  };
  static KeyPoints key_points(const std::vector<cv::Point2f>& landmarks68);
  // plausible() of those key points: whether 68 landmarks look like an upright-ish frontal face.
  static bool plausible(const std::vector<cv::Point2f>& landmarks68, const cv::Rect& face_box);

  // Whether eye/mouth positions look like an upright-ish frontal face inside the box.
  static bool plausible(const cv::Point2f& left_eye, const cv::Point2f& right_eye, const cv::Point2f& mouth,
                        const cv::Rect& face_box);

  // A box for an image that is already a tight face crop. dlib's predictor was trained on its
  // HOG detector's boxes (brows to chin), so the full crop is inset by inset·side on every side.
  static cv::Rect whole_image_box(cv::Size image_size, double inset = 0.0);

  static cv::Point2f canonical_left_eye(const AlignOptions& o);
  static cv::Point2f canonical_right_eye(const AlignOptions& o);
  static cv::Point2f canonical_mouth(const AlignOptions& o);

  const AlignOptions& options() const { return opt_; }

 private:
  struct Model;
  AlignOptions opt_;
  std::shared_ptr<const Model> model_;
};

}  // namespace lumaflow
