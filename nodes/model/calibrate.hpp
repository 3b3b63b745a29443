// Open-set calibration by cross-validation: the thresholds that keep a stated share of known
// faces known.
//
// A face is known when both tests pass: its distance to the nearest training face ≤ `distance`,
// and its nearest-person / second-nearest-person distance ratio ≤ `ratio`. Calibrating on the
// training faces themselves (leave-one-out in a basis fitted with the face inside) makes known
// faces look closer than new ones are, so the thresholds come out tight and new photos of known
// people are rejected. Here the training faces are split into `folds` stratified folds; each fold
// is scored against the others in a reduction fitted without it (PCA refitted per fold while
// n ≤ refit_max; past that the full basis is used: with n ≫ k a face barely moves its basis),
// exactly as classify scores a new face. Each test's threshold is the (1 − frr/2) quantile of its
// scores, so together they reject at most `frr` of known faces (union bound); the rate measured
// on the folds with both thresholds is reported as `cv_frr`.
// Cost: folds × PCA fit (n ≤ refit_max) + O(q · n · k) for q ≤ max_scored scored faces.
#pragma once

#include <cstdint>
#include <functional>

#include "nodes/analysis/pca.hpp"
#include "nodes/core/matrix.hpp"

namespace lumaflow {

struct OpenSetCalibration {
  float distance = 0;  // nearest-face distance above this -> unknown (reduced space)
  float ratio = 1;     // nearest/second-person distance ratio above this -> unknown
  float frr = 0.02f;   // the stated false-reject rate of known faces
  float cv_frr = 0;    // measured on the folds with both thresholds
  int folds = 0;
  size_t scored = 0;  // known faces scored
};

struct CalibrationOptions {
  float frr = 0.02f;  // share of known faces allowed to be called unknown, in (0, 0.5]
  int folds = 5;      // clamped to [2, the smallest person's face count]
  Eigen::Index refit_max = 5000;
  Eigen::Index max_scored = 2000;  // faces scored across all folds (evenly spaced)
  uint64_t seed = 42;
  int threads = 0;
};

// The reduction of one fold: a basis fitted on the fold's training rows (or nullopt-like: the
// caller's full basis). Given the raw rows of the fold's training set, returns its PCA model.
using FitReduction = std::function<PcaModel(const RowSource& train)>;

// x: raw training vectors (rows), y: labels ≥ 0 with at least 2 people of ≥ 2 faces each.
// `full`: the model's own basis (used past refit_max, or always when `refit` is empty);
// `whiten` as the model transforms. Throws std::invalid_argument for a set it cannot split.
OpenSetCalibration calibrate_open_set(const RowSource& x, const Labels& y, const PcaModel& full, bool whiten,
                                      const FitReduction& refit, const CalibrationOptions& opt);
inline OpenSetCalibration calibrate_open_set(MatrixRefF x, const Labels& y, const PcaModel& full, bool whiten,
                                             const FitReduction& refit, const CalibrationOptions& opt) {
  return calibrate_open_set(RowSource(x), y, full, whiten, refit, opt);
}

// The fewest known faces the cross-validation must expect to reject (faces × frr) for its
// (1 − frr/2) quantiles to be estimates rather than the few largest scores (a rule of thumb for
// empirical tail quantiles, not fitted to any data set).
inline constexpr double kMinExpectedRejects = 5.0;

// Whether `faces` training faces can be calibrated by cross-validation at `frr`.
inline bool cv_can_calibrate(size_t faces, float frr) {
  return static_cast<double>(faces) * frr >= kMinExpectedRejects;
}

}  // namespace lumaflow
