// Face descriptor: dlib's 29-layer ResNet (dlib_face_recognition_resnet_model_v1), in the
// TF.js form that @vladmandic/face-api@1.7.15 ships (MIT), ported to plain C++.
//
// Input: a 150×150 CV_8UC3 face chip in **RGB** channel order (not OpenCV's BGR: convert with
// cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB); nodes/image/chip.hpp already returns RGB). A grey
// face is used as R = G = B. The chip is taken as is: no resize, no crop (dlib's aligned chip,
// 150 px, padding 0.25, is what the network was trained on).
// Output: 128 floats, face-api's computeFaceDescriptor() for the same pixels to within 1e-3 per
// component (tested against tfjs's CPU backend); not L2-normalised (norms ≈ 1.2–1.6), and
// two faces are the same person when their Euclidean distance is below ≈ 0.6.
//
// Network: (rgb − mean(122.782, 117.001, 104.298)) / 255; 7×7/2 conv (valid) + per-channel
// scale + ReLU → 3×3/2 max-pool (valid) → residual blocks at 32, 64, 128, 256 channels whose
// down-sampling blocks add a 2×2/2 average-pooled, zero-channel-padded shortcut → global average
// pool → 256×128 fully connected. Every conv is followed by bias and the per-channel scale
// (dlib's affine layer). ≈ 254 M multiply-adds per face, run by OpenCV's DNN module (a graph
// built in code from the tensors; OpenCV picks AVX/AVX2/AVX-512 kernels at run time):
// ≈ 15 ms per face on one core of the reference machine (2-core AMD EPYC, AVX, no AVX2).
//
// Weights: face_recognition_model-weights_manifest.json + face_recognition_model.bin in a models
// folder (tools/fetch_models.sh; `tools/setup.sh models`), 117 tensors, mostly uint8-quantised
// (value = q·scale + min, as tfjs's decodeWeights), 6.4 MB; dequantised to 22 MB of float32 once.
//
// Thread safety: describe() is const and may run on any number of threads at once. The weights
// are read once and shared; because cv::dnn::Net::forward() mutates its net, each concurrent
// call leases a built net ("engine", ≈ 45 MB: its own packed copy of the weights) from an
// internal pool, which grows to the number of concurrent callers. Copies share weights and pool.
// Determinism: a face's descriptor is the same bits whatever `threads` and whichever engine
// ran it; it can differ in the last bits (≈ 1e-7) if OpenCV's own thread count changes
// (cv::setNumThreads, default all cores) or on a CPU with other SIMD kernels.
// Nothing here touches the network: the weights come only from the models folder.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace lumaflow {

inline constexpr int kDescriptorSize = 128;
inline constexpr int kDescriptorChip = 150;  // input side, px
using FaceDescriptor = std::array<float, kDescriptorSize>;

inline constexpr const char* kResnetManifest = "face_recognition_model-weights_manifest.json";
inline constexpr const char* kResnetWeights = "face_recognition_model.bin";

// The weight files are not where they were looked for. what() is one line naming the folder
// and the set-up command; callers may tell this apart from a damaged file (std::runtime_error).
class ModelsNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The models folder: `cli_value` (a --models DIR) when non-empty, else $LUMAFLOW_MODELS when set
// and non-empty, else the compile-time LUMAFLOW_MODELS_DEFAULT. Throws ModelsNotFound
// ("face recognition weights not found in DIR (missing FILE); run tools/setup.sh models") when
// either file is missing there. Does not read the files.
std::filesystem::path locate_models_dir(const std::string& cli_value = {});

// One dequantised tensor, in TF.js layout: conv filters [kh, kw, in, out], fc [256, 128].
struct ResnetTensor {
  std::vector<int> shape;
  std::vector<float> values;
};

// Reads the manifest and the .bin from `models_dir` and dequantises every tensor exactly as
// tfjs's io.decodeWeights does (double q·scale + min, rounded to float). Validates that the
// manifest is well-formed, that it names exactly the 117 tensors of the network with their
// expected shapes, dtype float32 and uint8/uint16 or no quantisation, that the .bin holds exactly
// the bytes they need and that every value is finite. Any problem → std::runtime_error whose
// message names the file and, where it applies, the tensor; missing files → ModelsNotFound.
std::map<std::string, ResnetTensor> read_resnet_tensors(const std::filesystem::path& models_dir);

class FaceDescriptorNet {
 public:
  // Reads and validates the weights (read_resnet_tensors), builds the first engine and runs it
  // once (OpenCV's lazy set-up); ≈ 0.25 s, ≈ 70 MB resident.
  static FaceDescriptorNet load(const std::filesystem::path& models_dir);

  // One chip: 150×150 CV_8UC3, RGB (any stride). Throws std::invalid_argument for any other
  // size or type. OpenCV may spread one call over its own worker threads.
  FaceDescriptor describe(const cv::Mat& rgb150) const;

  // Many chips over `threads` worker threads (≤ 0: all cores), each taking a contiguous share
  // through its own engine; result i is describe(chips[i]) bit for bit, whatever `threads`.
  // All chips are checked before any work starts.
  std::vector<FaceDescriptor> describe(const std::vector<cv::Mat>& rgb150, int threads = 0) const;

  // Builds (and runs once) engines until `engines` are idle, so that many concurrent callers —
  // a frame's faces described in parallel — do not pay ≈ 0.25 s each for a new engine on their
  // first face. ≈ 45 MB an engine. Results are unchanged.
  void warm(int engines) const;

  const std::filesystem::path& models_dir() const { return dir_; }

 private:
  struct Model;
  FaceDescriptorNet(std::shared_ptr<const Model> m, std::filesystem::path dir)
      : model_(std::move(m)), dir_(std::move(dir)) {}
  std::shared_ptr<const Model> model_;
  std::filesystem::path dir_;
};

}  // namespace lumaflow
