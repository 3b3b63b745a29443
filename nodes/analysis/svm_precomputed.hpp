// RBF C-SVC (one-vs-one) on a precomputed kernel, for cross-validation of many faces and people.
//
// The k-fold SVM of analyze trains k · p(p−1)/2 pairwise machines (150 people: 55,875 over five
// folds). Trained from vectors, every machine recomputes its kernel values from d-dimensional
// rows; here the n × n squared distances are computed once (from the exact Gram matrix analyze
// already holds, or from the rows) and every fold and class pair reads K = exp(−γ·D) from them:
// libsvm 3.24's C-SVC with kernel PRECOMPUTED (Debian's libsvm-dev), the solver sklearn's SVC
// wraps, with its defaults (eps 1e-3, shrinking). The vote is libsvm's; training rows are given
// in label order so that a tie goes to the smaller label, as sklearn's sorted classes do.
//
// Cost: O(n²) memory for the distances plus O(l²) for one fold's kernel rows (l training faces,
// 16 bytes a value in libsvm's node format); training reads kernel values in O(1); predicting q
// faces costs O(q · n_sv + q · p² · sv per pair).
#pragma once

#include <Eigen/Core>
#include <vector>

#include "nodes/core/matrix.hpp"

namespace lumaflow {

// D_ij = G_ii + G_jj − 2·G_ij (clamped at 0) for the rows `idx` of a Gram matrix G = X·Xᵀ.
Eigen::MatrixXd squared_distances_from_gram(const Eigen::MatrixXd& gram, const std::vector<int>& idx);
// The same from rows, through gram_matrix (nodes/analysis/pca.hpp): O(n² · d).
Eigen::MatrixXd squared_distances(MatrixRefF x);

struct PrecomputedSvmResult {
  std::vector<int> predicted;  // one label per test row
  int support_vectors = 0;     // of the trained model
};

// Trains on rows `train` of the squared-distance matrix `sqdist` (labels ytrain ≥ 0, one per
// train row) and predicts rows `test`. C > 0, gamma > 0. `threads` splits the test rows (≤ 0: all
// cores); the result does not depend on it. Throws std::invalid_argument for bad arguments.
PrecomputedSvmResult precomputed_svm(const Eigen::MatrixXd& sqdist, const std::vector<int>& train, const Labels& ytrain,
                                     const std::vector<int>& test, double C, double gamma, int threads = 0);

}  // namespace lumaflow
