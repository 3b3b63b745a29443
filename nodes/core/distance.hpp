// Euclidean distance helpers shared by the numeric nodes (kNN, ANN, DBSCAN, UMAP, metrics, SVM).
//
// Reproducibility rests on fixed summation orders: lane_squared_l2 always sums in the same 8
// lanes, and the norms accumulate in double, so a distance never depends on batching, blocking
// or the thread count. Rows are contiguous floats (see nodes/core/matrix.hpp).
#pragma once

#include <cstddef>

#include "nodes/core/matrix.hpp"

namespace lumaflow {

// ‖a − b‖² over d floats, summed in 8 independent lanes then combined pairwise: vectorisable
// without -ffast-math, and the same bits wherever it is called from.
inline float lane_squared_l2(const float* a, const float* b, size_t d) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= d; i += 8)
    for (size_t l = 0; l < 8; ++l) {
      const float t = a[i + l] - b[i + l];
      lane[l] += t * t;
    }
  for (size_t l = 0; i < d; ++i, ++l) {
    const float t = a[i] - b[i];
    lane[l] += t * t;
  }
  return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

// ‖x_i − x_j‖² of two rows of x, accumulated in double (exact decisions near a threshold).
inline double squared_l2_double(MatrixRefF x, Eigen::Index i, Eigen::Index j) {
  return (x.row(i).cast<double>() - x.row(j).cast<double>()).squaredNorm();
}

// ‖x_i − x_j‖² from the Gram matrix G = X·Xᵀ: G_ii + G_jj − 2·G_ij. Not clamped: an exact Gram
// matrix (gram_matrix of byte rows) gives exact, non-negative values.
inline double gram_squared_l2(const Eigen::MatrixXd& g, Eigen::Index i, Eigen::Index j) {
  return g(i, i) + g(j, j) - 2 * g(i, j);
}

// Squared row norms, accumulated in double for accuracy on 16384-d rows.
Eigen::VectorXf squared_norms(MatrixRefF x);

// Rows scaled to unit L2 norm (zero rows stay zero), the norm taken in double. Euclidean
// distance between normalised rows is the cosine distance's monotone twin: ‖a − b‖² = 2 − 2 cos.
RowMatrixF l2_normalize_rows(MatrixRefF x);

}  // namespace lumaflow
