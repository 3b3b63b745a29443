// t-SNE embedding with Barnes-Hut repulsion (scikit-learn 1.2 `TSNE(method="barnes_hut")`).
//
// Input: n×d float matrix, one point a row (any units; Euclidean distances are used).
// Output: n×2 float embedding (arbitrary units, centred near the origin).
// Pipeline, as sklearn: exact kNN with k = min(n−1, ⌊3·perplexity + 1⌋) neighbours; per point a
// binary search of the Gaussian precision on the *squared* distances so that the conditional
// distribution has entropy log(perplexity) (nats, 100 steps, tolerance 1e-5); sparse symmetric
// P = (P + Pᵀ) / ΣP; gradient descent with momentum 0.5 and P × early_exaggeration for the first
// exaggeration_iters iterations, then momentum 0.8; per-coordinate gains (+0.2 / ×0.8, at least
// 0.01); every 50 iterations stop if ‖grad‖ ≤ min_grad_norm or the KL divergence has not improved
// for 300 iterations (sklearn's n_iter_without_progress). Attractive forces are exact over the
// sparse P; repulsive forces use a quad-tree with the Barnes-Hut criterion
// max_cell_width² < θ²·dist² (θ = 0 gives the exact O(n²) repulsion).
// Init: PCA (randomised subspace iteration, sign fixed so each column's largest |value| is
// positive) scaled so column 0 has standard deviation 1e-4, or N(0, 1e-4²) random.
//
// Differences from sklearn, all on the accuracy side: the optimisation runs in double (sklearn:
// float32); quad-tree leaves hold up to 8 points, summed exactly when the leaf is too close to be
// summarised (sklearn: one point per leaf, so the same cells are summarised); coincident points
// still count in Z (sklearn drops points within 1e-6 of the query from the sum); the
// perplexity search shifts each row by its nearest distance so exp() cannot underflow.
//
// Determinism: everything random comes from `seed`; per-point forces are computed independently
// and the normalisation Z is summed serially, so the output is bit-identical for any `threads`.
// Threads: the kNN and the PCA init run side by side; the force passes use up to `threads`
// workers (one per 128 points at most) that live for the whole descent.
// Complexity: kNN O(n²·d); per iteration O(n·k) attractive + O(n log n) repulsive; memory O(n·k).
//
// Input checks (std::invalid_argument): n < 4, non-finite values, n_components ≠ 2 (the quad-tree
// is 2-D only), perplexity ≤ 0 or ≥ n (sklearn raises "perplexity must be less than n_samples"),
// early_exaggeration < 1, learning_rate = 0 or NaN, theta < 0, n_iter < 1, exaggeration_iters < 0.
// Unlike sklearn (which insists on n_iter ≥ 250) a shorter run is allowed: the exaggeration phase
// is then clipped to n_iter.
#pragma once

#include <cstdint>
#include <vector>

#include "nodes/analysis/knn.hpp"
#include "nodes/core/matrix.hpp"

namespace lumaflow {

struct TsneOptions {
  int n_components = 2;                              // only 2 is supported (Barnes-Hut quad-tree)
  float perplexity = 30.f;                           // effective number of neighbours; must be < n
  float early_exaggeration = 12.f;                   // P multiplier during the first exaggeration_iters iterations
  int exaggeration_iters = 250;                      // sklearn's _EXPLORATION_N_ITER
  int n_iter = 1000;                                 // total iterations, exaggeration phase included
  float learning_rate = -1.f;                        // < 0: sklearn 'auto' = max(n / early_exaggeration / 4, 50)
  float theta = 0.5f;                                // Barnes-Hut opening angle (sklearn's `angle`); 0 = exact
  float min_grad_norm = 1e-7f;                       // stop when the gradient norm falls to this (checked every 50)
  uint64_t seed = 42;                                // PCA sketch or random init
  int threads = 0;                                   // <= 0: all cores; the result does not depend on it
  enum class Init { pca, random } init = Init::pca;  // pca: column 0 scaled to std 1e-4
};

// n×n_components embedding of the rows of x.
RowMatrixF tsne(MatrixRefF x, const TsneOptions& opt = {});

// The learning rate tsne() uses for n points (resolves 'auto').
double tsne_learning_rate(Eigen::Index n, const TsneOptions& opt);

// Building blocks, exposed for tests.
namespace detail {

// Symmetric sparse joint probabilities, CSR, rows sorted by column, Σ values = 1.
struct SparseP {
  std::vector<int64_t> indptr;  // n + 1
  std::vector<int32_t> indices;
  std::vector<double> values;
};

// Conditional probabilities p_{j|i} (row i over its k neighbours, in the given order) for the
// squared distances sq_dist (n×k), each row searched to entropy log(perplexity) nats.
RowMatrixD binary_search_perplexity(const RowMatrixF& sq_dist, double perplexity, int threads = 1);

// (P + Pᵀ) / ΣP from the neighbour lists (n×k indices) and their conditional probabilities.
SparseP joint_probabilities(const IndexMatrix& neighbours, const RowMatrixD& conditional);

// Unnormalised t-SNE repulsion for every point of the 2-D embedding y (n×2):
//   force_i = Σ_{j≠i} q_ij² (y_i − y_j),  z = Σ_i Σ_{j≠i} q_ij,  q_ij = 1 / (1 + ‖y_i − y_j‖²),
// with far cells summarised by their centre of mass when width² < theta²·dist².
struct Repulsion {
  RowMatrixD force;  // n×2
  double z = 0;
};
Repulsion bh_repulsion(const RowMatrixD& y, double theta, int threads = 1);

// The initial layout (n×2, double) as tsne() builds it.
RowMatrixD initial_embedding(MatrixRefF x, const TsneOptions& opt);

}  // namespace detail
}  // namespace lumaflow
