// Internals shared by the UMAP implementation files; not part of the public API (umap.hpp).
//
//   umap_graph.cpp      kNN with the point itself, smooth-kNN calibration, fuzzy simplicial set
//   umap_init.cpp       spectral initial layout (principal components when disconnected)
//   umap_sgd.cpp        membership curve fit (fit_ab) and the SGD layout optimiser
//   umap_transform.cpp  placing new points with the training layout frozen
//   umap.cpp            options and umap_fit, which chains graph -> init -> SGD
#pragma once

#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "nodes/analysis/umap.hpp"
#include "nodes/core/random.hpp"

namespace lumaflow::umap_detail {

using SpMatF = Eigen::SparseMatrix<float, Eigen::RowMajor, int32_t>;
using SpMatD = Eigen::SparseMatrix<double, Eigen::RowMajor, int32_t>;

// Randomness: SplitMix64 (nodes/core/random.hpp) from a mixed seed; indices by multiply-shift,
// one normal per pair of uniforms.
struct Rng {
  SplitMix64 g;
  explicit Rng(uint64_t seed) : g(mix64(seed ^ 0x6A09E667F3BCC909ull)) {}
  uint32_t below(uint32_t n) { return below_multiply_shift(g.next(), n); }
  double uniform() { return g.uniform(); }
  double normal() {
    const double u1 = std::max(uniform(), 0x1.0p-53), u2 = uniform();
    return box_muller_first(u1, u2);
  }
};

// Epochs of the fit (options.n_epochs, or umap-learn's choice for n points) and of a transform.
int fit_epochs(const UmapOptions& o, Eigen::Index n);
int transform_epochs(const UmapOptions& o);

// ---- umap_graph.cpp
// Smooth kNN for one row (see smooth_knn_dist). mean_fallback < 0: use the row's own mean distance.
void smooth_row(const float* dist, int k, double target, double local_connectivity, double mean_fallback,
                float& sigma_out, float& rho_out);

// Membership strength of a neighbour at distance d: 1 within rho, then exp(-(d - rho)/sigma).
inline float membership(float d, float rho, float sigma) {
  const float x = d - rho;
  if (x <= 0.0f || sigma == 0.0f) return 1.0f;
  return std::exp(-(x / sigma));
}

// The fuzzy simplicial set of x (n×n, compressed): kNN with the point itself, smooth-kNN
// calibration, directed memberships, then fuzzy union/intersection by opt.set_op_mix_ratio.
// With n_epochs > 0, edges too weak to be sampled even once are dropped. `given`: the kNN
// without the point itself (n × (k − 1)), computed here when null.
SpMatF fuzzy_graph(MatrixRefF x, const UmapOptions& opt, int n_epochs, const KnnResult* given = nullptr);

// ---- umap_init.cpp
// The starting layout (n × dim, each column spanning [0, 10]): the spectral layout of a connected
// graph, else x's principal components; then umap-learn's expansion and N(0, 1e-4) noise.
RowMatrixF initial_layout(const SpMatF& graph, MatrixRefF x, int dim, Rng& rng);

// ---- umap_sgd.cpp
// The membership curve 1/(1 + a·d^(2b)) and the repulsion weight gamma.
struct Curve {
  float a, b, gamma;
};

// Edge list of a fuzzy graph with umap-learn's sampling schedule.
struct EdgeSchedule {
  std::vector<int32_t> head, tail;
  std::vector<double> epochs_per_sample;
};

// Every edge of the fit's graph, in slot-major order (see umap_sgd.cpp).
EdgeSchedule fit_schedule(const SpMatF& graph);

// Runs umap-learn's optimize_layout_euclidean on head_emb (rows × dim). Negative samples are
// drawn from the n_tail rows of tail_emb; with move_other the tail end of each edge moves too
// (fit, where head_emb and tail_emb are the same matrix). One thread: the order is the result.
void run_optimise(float* head_emb, float* tail_emb, Eigen::Index n_tail, int dim, const EdgeSchedule& s, int n_epochs,
                  const Curve& curve, float alpha0, int nsr, bool move_other, Rng& rng);

}  // namespace lumaflow::umap_detail
