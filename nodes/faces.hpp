// Faces: the optional detect/align part of the embed chain, and photometric normalisation.
//
// FaceTools owns the face detector and the landmark aligner; it is built once per run (the
// 68-point model takes about a second to load) and then used read-only from every thread.
// faces() turns one luminance frame into 0..k N×N crops: detect -> boxes; align (or crop the
// box) -> N×N; optional equalisation.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <vector>

#include "nodes/embed.hpp"

namespace lumaflow {

// Histogram equalisation or CLAHE of an 8-bit gray crop (none returns a copy).
cv::Mat equalize_face(const cv::Mat& gray, EqualizeMode mode);

class FaceTools {
 public:
  // Loads what `mode` needs; throws std::runtime_error naming the missing model file and the
  // Debian package that ships it.
  explicit FaceTools(FaceMode mode);
  ~FaceTools();
  FaceTools(const FaceTools&) = delete;
  FaceTools& operator=(const FaceTools&) = delete;

  // `reduction` is the decode scale factor (boxes are reported in source pixels).
  std::vector<FaceCrop> faces(const cv::Mat& gray, int reduction, const EmbedOptions& opt) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumaflow
