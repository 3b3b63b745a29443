// Quality numbers for clusterings, embeddings and classifiers, with scikit-learn's definitions.
//
// Labels: one int per point; −1 is noise (DBSCAN) or "unlabelled" (ground truth). The partition
// scores (ARI, NMI, purity) treat −1 as one more label, as sklearn does; the classifier helpers
// (LOO 1-NN, splits) leave −1 points out. Distances are Euclidean on the rows as given, computed
// by blocked GEMM with exact double-precision re-checks where rounding could change a ranking,
// so results equal a float64 computation and do not depend on the thread count.
// Complexity: partition scores O(n log n); trustworthiness and LOO 1-NN O(n²·d) time with
// O(block·n) scratch (never an n×n matrix); splits O(n).
#pragma once

#include <cstdint>
#include <vector>

#include "nodes/core/matrix.hpp"

namespace lumaflow {

int cluster_count(const Labels& clusters);      // distinct labels >= 0
double noise_fraction(const Labels& clusters);  // fraction of −1 (0 for no points)

// sklearn.metrics.adjusted_rand_score; 1 for identical partitions up to renaming.
double adjusted_rand_index(const Labels& truth, const Labels& pred);
// sklearn.metrics.normalized_mutual_info_score, average_method='arithmetic' (natural log).
double normalized_mutual_info(const Labels& truth, const Labels& pred);
// Σ over predicted clusters of their largest true class / n (1 for no points).
double purity(const Labels& truth, const Labels& pred);

// sklearn.manifold.trustworthiness(high, low, n_neighbors=k), Euclidean: 1 − penalty for every
// low-dimensional k-neighbour that is not among the k nearest in the high-dimensional space.
// Needs 1 <= k < n/2. Ties are ranked by index.
double trustworthiness(MatrixRefF high, MatrixRefF low, int k, int threads = 0);
// The same with the high space given by its exact Gram matrix (distances² G_ii + G_jj − 2·G_ij):
// O(n²·k) instead of O(n²·d).
double trustworthiness_gram(const Eigen::MatrixXd& gram, MatrixRefF low, int k, int threads = 0);

// Leave-one-out 1-nearest-neighbour accuracy over the points with y >= 0 (neighbours are drawn
// from those points too; ties go to the smaller index). Needs at least two such points.
double loo_1nn_accuracy(MatrixRefF x, const Labels& y, int threads = 0);
// The same from the points' exact Gram matrix: O(n²).
double loo_1nn_accuracy_gram(const Eigen::MatrixXd& gram, const Labels& y, int threads = 0);

// Fold id in [0, k) per point: every label value (−1 included) is shuffled (seeded) and dealt
// round-robin, continuing where the previous label stopped, so each label's count per fold and
// the fold sizes differ by at most one. Needs 2 <= k <= n.
std::vector<int> stratified_folds(const Labels& y, int k, uint64_t seed);

struct Split {
  std::vector<int> train, test;  // point indices, ascending
};
// Per label >= 0: min(test_per_class, count − 1) seeded-random points go to test, the rest to
// train (a class always keeps a training point). Points labelled −1 are in neither.
Split stratified_holdout(const Labels& y, int test_per_class, uint64_t seed);

}  // namespace lumaflow
