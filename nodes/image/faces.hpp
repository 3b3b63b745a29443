// Faces: the optional detect/align part of the embed chain.
//
// FaceTools owns the face detector (dlib HOG, nodes/detect) and, for align, the 68-point
// landmark aligner (nodes/align); it is built once per run (the models take a second or two to
// load) and then used read-only from every thread. faces() turns one luminance frame into 0..k
// N×N crops, ordered left to right:
//   detect: each detected box, squared and area-resized to N×N;
//   align:  each detected face warped so eyes and mouth sit at canonical positions
//           (falls back to the box crop, landmarks_found = false, when landmarks are implausible).
// A frame with no detection is retried once as a tight face crop (padded detection), which is
// what the labelled sets (orl, tvshow) are; a frame with still no face yields no crop (no error).
//
// For the learned embedding (EmbedOptions::embedding == resnet) it also holds the descriptor
// network (nodes/learned/resnet.hpp, loaded once, shared by all threads), and chips() cuts
// dlib's 150×150 RGB chip of each detected face from its 68 landmarks (nodes/image/chip.hpp),
// in colour, as the network was trained.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <vector>

#include "nodes/core/parallel.hpp"
#include "nodes/image/embed.hpp"
#include "nodes/learned/resnet.hpp"

namespace lumaflow {

class FaceTools {
 public:
  // Loads what `mode` needs for N×N output; throws std::runtime_error naming a missing model
  // file and the Debian package that ships it.
  FaceTools(FaceMode mode, int size);
  // What `opt` needs: detector (+ landmarks) unless asis; the descriptor network for resnet,
  // from locate_models_dir(models_dir) (throws ModelsNotFound naming the set-up command).
  FaceTools(const EmbedOptions& opt, const std::string& models_dir);
  ~FaceTools();
  FaceTools(const FaceTools&) = delete;
  FaceTools& operator=(const FaceTools&) = delete;

  FaceMode mode() const;
  // `reduction` is the decode scale factor (boxes are reported in source pixels).
  std::vector<FaceCrop> faces(const cv::Mat& gray, int reduction, const EmbedOptions& opt) const;
  // resnet, detect|align: one RGB chip per detected face (FaceCrop::chip), left to right.
  // `image` is the decoded frame (BGR, BGRA or grey), `gray` its luminance. `each` spreads the
  // detection and the faces' landmarks and chips over threads (same result; empty = this thread).
  std::vector<FaceCrop> chips(const cv::Mat& image, const cv::Mat& gray, int reduction, const ForEach& each = {}) const;
  // nullptr unless built for resnet.
  const FaceDescriptorNet* net() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumaflow
