// Procedural cartoon faces: the project's embedded default data set and the generator of large
// benchmark sets (real photographs cannot ship in the repository).
//
// An identity (make_identity) fixes face shape, features, skin, hair; a variation
// (make_variation) is what changes between two photos of the same person: framing (shift ±8 %
// of the side, rotation ±12°, scale ±10 %), lighting gradient, brightness, sensor noise,
// expression, backdrop and clothing. Both are pure functions of (seed, indices) through a
// hand-written SplitMix64 generator and hand-written normal deviates, so the same seed gives the
// same bytes on every run, on any thread count.
//
// Geometry is in units of the image side with the face frame centred; shapes are drawn with
// anti-aliased OpenCV primitives at 2× resolution and reduced with area averaging.
// Complexity: draw_face O(size²); draw_scene O(width·height + Σ face²); write_synthetic_set
// O(identities · per · size²) spread over `threads` (files are independent).
#pragma once

#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace lumaflow {

// Lengths are fractions of the image side (face crop) unless stated.
struct SynthIdentity {
  double face_w = 0.28, face_h = 0.36;                             // face ellipse half-axes
  double jaw = 0.3;                                                // 0 round … 1 pointed chin
  double eye_spacing = 0.22;                                       // between eye centres
  double eye_w = 0.05, eye_h = 0.03;                               // eye half-axes
  double eye_y = -0.04;                                            // eye line below (+) / above (−) the face centre
  double iris = 0.6;                                               // iris radius / eye_h
  cv::Scalar iris_colour{90, 60, 30};                              // BGR
  double brow_thickness = 0.014, brow_lift = 0.05, brow_tilt = 0;  // tilt in degrees, + = frown
  double nose_len = 0.1, nose_w = 0.05;
  double mouth_w = 0.09, mouth_h = 0.025, mouth_curve = 0.015, mouth_y = 0.17;  // curve > 0: smile
  cv::Scalar skin{150, 180, 220}, lip{110, 110, 190}, hair{40, 50, 60};
  int hair_style = 0;     // 0 short, 1 long, 2 fringe/bob, 3 bald, 4 curly, 5 spiky
  double hairline = 0.5;  // hairline height as a fraction of face_h above centre
  bool glasses = false, beard = false;
  double ear_size = 0.05;
};

struct SynthVariation {
  double shift_x = 0, shift_y = 0;       // fraction of the side (±0.08)
  double rotation_deg = 0;               // ±12
  double scale = 1;                      // 0.9 … 1.1
  double light_angle = 0;                // radians, direction the light comes from
  double light_strength = 0;             // gain ramp 0 … 0.3: ±strength from the lit to the dark edge
  double brightness = 0;                 // additive, 8-bit levels (±15)
  double noise_sigma = 0;                // Gaussian sensor noise, 8-bit levels (1 … 6)
  double mouth_curve_delta = 0;          // added to the identity's mouth curve (expression)
  double eye_open = 1;                   // 1 open … 0 closed
  cv::Scalar background{200, 200, 200};  // backdrop BGR
  cv::Scalar clothes{120, 80, 60};       // shirt BGR
  uint64_t noise_seed = 0;
};

SynthIdentity make_identity(uint64_t seed, int index);
// `amount` in [0, 1] scales every perturbation (framing, lighting, brightness, expression) from
// none to the reference ranges above; noise, backdrop and clothes are unaffected. The random
// draws are the same for every amount.
SynthVariation make_variation(uint64_t seed, int identity, int image, double amount = 1.0);

// size×size BGR CV_8UC3 (size ≥ 16); face centred (before the variation's shift) and filling
// most of the crop, with neck, shoulders and backdrop.
cv::Mat draw_face(const SynthIdentity& id, const SynthVariation& var, int size);

// A width×height BGR "TV frame": room-like clutter plus `faces` faces (identities
// make_identity(seed, 0..faces−1)) at random non-overlapping square boxes, each box the crop the
// face was drawn in (face centred in it). Throws std::invalid_argument if they cannot be placed.
cv::Mat draw_scene(uint64_t seed, int width, int height, int faces, std::vector<cv::Rect>* boxes = nullptr);

struct SynthOptions {
  int identities = 8;  // people (folders)
  int per = 20;        // images per person
  int size = 160;      // crop side in pixels; with scenes: frame width (height = size·9/16)
  uint64_t seed = 42;
  int jpeg_quality = 90;
  bool scenes = false;  // full frames: the folder's person plus 0–2 others, instead of crops
  // Scales the per-image perturbations (make_variation's amount). Leave-one-out 1-NN on 40×10
  // crops in 128² gray (seed 42): 0.24 at 1.0, 0.35 at 0.75, 0.54 at 0.5, 0.82 at 0.25 —
  // framing dominates pixel distances. (orl, aligned real photos: 0.97.)
  double variation = 1.0;
};

struct SynthSummary {
  int files = 0;
  std::vector<std::string> labels;  // folder names, in identity order
};

// Writes out/person_00/img_000.jpg, img_001.png, … (even images JPEG, odd PNG; ≥2 and ≥3 digits,
// more when the counts need them). Creates folders, overwrites files; throws std::runtime_error
// naming the path on any write failure, std::invalid_argument for bad options. Output bytes do
// not depend on `threads` (≤ 0: all cores).
SynthSummary write_synthetic_set(const std::filesystem::path& out, const SynthOptions& opt, int threads = 0);

}  // namespace lumaflow
