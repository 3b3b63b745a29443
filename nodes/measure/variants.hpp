// Variants: the quality numbers of one embedding variant (asis, aligned, equalised, whitened …)
// and OpenCV's classic face recognizers as reference rows, for `lumaflow evaluate`.
//
// variant_metrics takes n labelled vectors (n×d floats, pixel/255 for the raw variants) and
// measures, on exactly those rows:
//   - DBSCAN (minPts 5) at the knee of the k-distance curve: cluster count, ARI, NMI against the
//     labels; L2-normalised vectors for raw variants, plain Euclidean for whitened ones (the
//     whitened axes are the scale; normalising would undo it);
//   - leave-one-out 1-NN accuracy; stratified k-fold RBF-SVM accuracy on the vectors and on a
//     2-D UMAP of them; trustworthiness(k) of that UMAP;
//   - held-out accuracy (stratified holdout, variant_split) of the fitted model's UMAP(2-D)+SVM
//     and PCA+SVM spaces through heldout_scores — a known face reported unknown is an error.
// With options.whiten the vectors are first replaced by their PCA-whitened coordinates (PCA fitted
// on all n rows, k = min(components, n − 1), unit sample variance per axis) for every measure
// except the held-out model, which fits its own whitened PCA on the training part only (no
// leakage of test faces into the basis).
// Numbers that cannot be computed on so few faces (e.g. a held-out split when a person has one
// face) are NaN. Complexity: dominated by O(n²·d) distance passes and a few UMAP fits on n points.
//
// recognizer_accuracy trains cv::face::{Eigen,Fisher,LBPH}FaceRecognizer (default parameters:
// all eigenfaces; c − 1 Fisher axes; LBPH radius 1, 8 neighbours, 8×8 grid) on the training part
// of the side×side gray images and returns the fraction of test images given their own label.
#pragma once

#include <cstdint>
#include <string>

#include "nodes/analysis/metrics.hpp"
#include "nodes/analysis/umap.hpp"
#include "nodes/model/model.hpp"

namespace lumaflow {

struct VariantOptions {
  bool whiten = false;        // measure the PCA-whitened vectors ("eigenfaces") instead
  int pca_components = 100;   // k of the whitening PCA and of the held-out model's PCA (clamped to n − 1)
  int min_pts = 5;            // DBSCAN minPts, also the k of the k-distance knee
  int folds = 5;              // stratified k-fold SVM
  int trust_k = 10;           // trustworthiness neighbours (clamped below n/2)
  int holdout_per_class = 0;  // test faces per person; 0: 20 % of the smallest class, at least 1
  UmapOptions umap;           // the 2-D UMAP (n_components forced to 2, n_neighbors clamped to n − 1)
  ModelOptions model;         // the held-out model (whiten and pca_components set from above)
  uint64_t seed = 42;         // every random choice (folds, split, UMAP, PCA)
  int threads = 0;            // <= 0: all cores
};

struct VariantMetrics {
  int faces = 0, people = 0;
  int dims = 0;   // dimension of the measured vectors (d, or k when whitened)
  float eps = 0;  // suggested DBSCAN eps
  int clusters = 0;
  double noise_fraction = 0, ari = 0, nmi = 0;
  double loo_1nn = 0;
  double svm_kfold = 0, svm_kfold_umap2 = 0;
  double trustworthiness = 0;
  int heldout_train = 0, heldout_test = 0;
  double heldout_umap2_svm = 0, heldout_pca_svm = 0;
  RowMatrixF umap;  // n×2 UMAP points (for the chart)
  double seconds = 0;
};

// Test faces per person used by variant_split: holdout_per_class, or max(1, smallest class / 5);
// 0 when the smallest class has fewer than 2 faces (no split possible).
int holdout_per_person(const Labels& y, int holdout_per_class);
// stratified_holdout(y, holdout_per_person(...), seed); empty when no split is possible.
Split variant_split(const Labels& y, const VariantOptions& opt);

// PCA-whitened coordinates of the rows of x: n × min(components, n − 1, d).
RowMatrixF whiten_rows(MatrixRefF x, int components, uint64_t seed, int threads = 0);

// Every label must be >= 0 and there must be at least 2 people and 4 faces
// (std::invalid_argument otherwise).
VariantMetrics variant_metrics(MatrixRefF x, const Labels& y, const VariantOptions& opt);

enum class Recognizer { eigen, fisher, lbph };
const char* recognizer_name(Recognizer r);  // eigenfaces | fisherfaces | lbph

// x: n × side² values in [0, 1] (rounded to 8-bit gray); accuracy on split.test (NaN when empty).
double recognizer_accuracy(Recognizer r, MatrixRefF x, int side, const Labels& y, const Split& split);

}  // namespace lumaflow
