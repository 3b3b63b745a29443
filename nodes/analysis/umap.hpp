// UMAP: fit a low-dimensional embedding of a point set, and place new points into it.
//
// Inputs: n×d row-major float points (Euclidean metric), usually PCA-reduced pixel vectors.
// Outputs: n×n_components float coordinates (unitless; the fit starts from a [0,10] box).
// Semantics follow umap-learn 0.5: kNN including the point itself; per-point rho/sigma by
// binary search; fuzzy union of the directed kNN graph; spectral initialisation; SGD with
// negative sampling, clipped gradients and a linearly decaying learning rate.
// Reproducibility: every random choice comes from options.seed. The fit's SGD runs on one thread
// (it is the part that would otherwise depend on thread timing); kNN, smoothing and transform
// run on options.threads, and results are bit-identical for any thread count.
// transform() places each query row independently (its own RNG seeded from the row's bytes), so
// a point lands in the same place alone or in any batch.
// Complexity: kNN O(n² d) exact (n <= exact_knn_max) or ≈ O(n log n d) with HNSW, or given; graph
// O(n k log k); spectral init O(iterations · n · m) (m ≈ sqrt n Lanczos vectors);
// SGD O(n_epochs · n k · negative_sample_rate · n_components). transform: O(n d) per query row
// (exact kNN against the training points) + O(transform_epochs · k · negative_sample_rate).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "nodes/analysis/knn.hpp"
#include "nodes/core/matrix.hpp"

namespace lumaflow {

struct UmapOptions {
  int n_neighbors = 15;             // neighbourhood size k (the point itself included)
  int n_components = 2;             // embedding dimension
  float min_dist = 0.1f;            // how tightly points may pack (with spread, sets a and b)
  float spread = 1.0f;              // scale of the embedded clusters
  int n_epochs = -1;                // -1: umap-learn's choice (500 if n <= 10,000 else 200); 0: init only
  float learning_rate = 1.0f;       // initial SGD step, decays linearly to 0
  int negative_sample_rate = 5;     // repulsive samples per attractive one
  float repulsion_strength = 1.0f;  // gamma, weight of the repulsive term
  float local_connectivity = 1.0f;  // neighbours assumed fully connected (sets rho)
  float set_op_mix_ratio = 1.0f;    // 1: fuzzy union, 0: fuzzy intersection
  int exact_knn_max = 20000;        // exact kNN up to this many points, HNSW above
  uint64_t seed = 42;
  int threads = 0;            // <= 0: all cores
  int transform_epochs = -1;  // -1: n_epochs/3 (100 with the default n_epochs); lr = learning_rate/4
};

struct UmapModel {
  UmapOptions options;
  float a = 0, b = 0;    // fitted curve 1 / (1 + a·d^(2b))
  RowMatrixF data;       // training points in the space kNN is computed in (n×d), kept for transform
  RowMatrixF embedding;  // n×n_components fitted coordinates
};

// Fits 1/(1 + a·x^(2b)) to the target membership curve (1 below min_dist, then
// exp(-(x - min_dist)/spread)) on 300 points in [0, 3·spread] by least squares, as umap-learn's
// find_ab_params. fit_ab(1, 0.1) ≈ (1.577, 0.895).
std::pair<float, float> fit_ab(float spread, float min_dist);

// Per-row smooth-kNN calibration (exposed for tests and for callers building their own graphs).
// distances: n×k kNN distances, nearest first, column 0 is normally the point itself (skipped by
// the sigma search, as in umap-learn). rho = distance to the local_connectivity-th non-zero
// neighbour (interpolated); sigma solves Σ_{j>=1} exp(-max(0, d_j - rho)/sigma) = log2(k) by 64
// bisection steps (tolerance 1e-5), floored at 1e-3 × the mean distance (the row's mean when
// rho > 0, else mean_all_distances; pass a negative value to use the row's mean there too).
struct SmoothKnn {
  std::vector<float> sigma, rho;
};
SmoothKnn smooth_knn_dist(const RowMatrixF& distances, float k, float local_connectivity,
                          double mean_all_distances = -1.0, int threads = 0);

// Throws std::invalid_argument for n <= n_neighbors, non-finite values or bad options.
UmapModel umap_fit(MatrixRefF x, const UmapOptions& opt);

// The same with the kNN given: each point's n_neighbors − 1 nearest other points, nearest first,
// with their distances (e.g. exact_knn_gram from an exact Gram matrix: O(n²) where computing them
// from x costs O(n²·d)). x is still kept for transform. Throws std::invalid_argument for a kNN of
// the wrong shape or naming a point outside x.
UmapModel umap_fit(MatrixRefF x, const UmapOptions& opt, const KnnResult& neighbours);

// Places new points with the training coordinates frozen. Each query row gets its own RNG seeded
// from a 64-bit hash of the row's bytes and options.seed, so a point lands at the same place
// whatever batch it arrives in, and the result does not depend on the thread count.
RowMatrixF umap_transform(const UmapModel& model, MatrixRefF query);

// Same, when the caller already has the query's kNN against model.data (e.g. from its own index):
// knn.indices/distances are rows × k with k >= n_neighbors (the first n_neighbors columns are used),
// nearest first, Euclidean.
RowMatrixF umap_transform(const UmapModel& model, MatrixRefF query, const KnnResult& knn);

}  // namespace lumaflow
