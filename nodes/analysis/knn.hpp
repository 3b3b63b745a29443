// Exact k-nearest-neighbour search and blocked Euclidean distances.
//
// Inputs: row-major float matrices (one point a row). Distances are Euclidean (not squared),
// computed block-wise as ‖x‖² + ‖y‖² − 2·X·Yᵀ with Eigen GEMM, so 16384-d rows stay fast and
// memory stays O(block · n), never O(n²). Ties are broken by the smaller index, so results are
// deterministic and independent of the thread count.
// Complexity: O(n_query · n_data · d) time, O(block · n_data) extra memory.
#pragma once

#include <Eigen/Core>

#include "nodes/core/distance.hpp"  // squared_norms, l2_normalize_rows
#include "nodes/core/matrix.hpp"

namespace lumaflow {

using IndexMatrix = Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Row i lists the k nearest data points of query i, nearest first.
struct KnnResult {
  IndexMatrix indices;   // n_query × k
  RowMatrixF distances;  // n_query × k, Euclidean
};

// Calls visit(row_begin, block) for consecutive blocks of query rows, where block is the
// (rows × n_data) matrix of squared Euclidean distances (clamped at 0). Rows of the block are
// computed in parallel over `threads` threads; visit is called serially, in order.
template <class Visit>
void for_each_distance_block(MatrixRefF query, MatrixRefF data, int block_rows, Visit&& visit);

// k nearest data points of every query row (exact). With exclude_self, query must be data and
// point i is never its own neighbour; otherwise i is usually its own first neighbour (as in
// umap-learn, whose kNN includes the point itself).
KnnResult exact_knn(MatrixRefF query, MatrixRefF data, int k, bool exclude_self = false, int threads = 0);

// Same but the query set is the data set.
inline KnnResult exact_knn(MatrixRefF data, int k, bool exclude_self = false, int threads = 0) {
  return exact_knn(data, data, k, exclude_self, threads);
}

// The same from an exact Gram matrix G = X·Xᵀ of the points (gram_matrix, nodes/analysis/pca.hpp):
// distances² G_ii + G_jj − 2·G_ij, O(n²·log k) instead of O(n²·d); exact for byte rows, whose
// Gram matrix is.
KnnResult exact_knn_gram(const Eigen::MatrixXd& gram, int k, bool exclude_self = false, int threads = 0);

}  // namespace lumaflow

#include "nodes/analysis/knn_impl.hpp"
