#include "nodes/analysis/knn.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace lumaflow {

KnnResult exact_knn(MatrixRefF query, MatrixRefF data, int k, bool exclude_self, int threads) {
  const Eigen::Index nq = query.rows(), nd = data.rows();
  if (query.cols() != data.cols())
    throw std::invalid_argument("exact_knn: query has " + std::to_string(query.cols()) + " columns, data has " +
                                std::to_string(data.cols()));
  if (exclude_self && nq != nd) throw std::invalid_argument("exact_knn: exclude_self needs query == data");
  const Eigen::Index avail = nd - (exclude_self ? 1 : 0);
  if (k <= 0 || k > avail)
    throw std::invalid_argument("exact_knn: k=" + std::to_string(k) + " but only " + std::to_string(avail) +
                                " candidate neighbours");
  KnnResult res;
  res.indices.resize(nq, k);
  res.distances.resize(nq, k);
  // A block of 256 rows × n columns: bounded memory, big enough for GEMM to run at speed.
  const int block_rows = static_cast<int>(
      std::max<Eigen::Index>(1, std::min<Eigen::Index>(256, (1 << 24) / std::max<Eigen::Index>(nd, 1))));
  for_each_distance_block(query, data, block_rows, [&](Eigen::Index b, const RowMatrixF& block) {
    parallel_for(block.rows(), threads, [&](std::ptrdiff_t r) {
      const Eigen::Index qi = b + r;
      std::vector<int32_t> idx(static_cast<size_t>(nd));
      std::iota(idx.begin(), idx.end(), 0);
      if (exclude_self) idx.erase(idx.begin() + qi);
      const auto row = block.row(r);
      auto less = [&](int32_t a, int32_t c) { return row(a) < row(c) || (row(a) == row(c) && a < c); };
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), less);
      for (int j = 0; j < k; ++j) {
        res.indices(qi, j) = idx[static_cast<size_t>(j)];
        res.distances(qi, j) = std::sqrt(row(idx[static_cast<size_t>(j)]));
      }
    });
  });
  return res;
}

KnnResult exact_knn_gram(const Eigen::MatrixXd& gram, int k, bool exclude_self, int threads) {
  const Eigen::Index n = gram.rows();
  if (gram.cols() != n) throw std::invalid_argument("exact_knn_gram: the Gram matrix must be square");
  const Eigen::Index avail = exclude_self ? n - 1 : n;
  if (k < 1 || k > avail)
    throw std::invalid_argument("exact_knn_gram: k=" + std::to_string(k) + " must be in [1, " + std::to_string(avail) +
                                "]");
  KnnResult res;
  res.indices.resize(n, k);
  res.distances.resize(n, k);
  parallel_for(n, threads, [&](std::ptrdiff_t i) {
    std::vector<double> d(static_cast<size_t>(n));
    for (Eigen::Index j = 0; j < n; ++j) d[static_cast<size_t>(j)] = gram_squared_l2(gram, i, j);
    std::vector<int32_t> idx;
    idx.reserve(static_cast<size_t>(n));
    for (Eigen::Index j = 0; j < n; ++j)
      if (!exclude_self || j != i) idx.push_back(static_cast<int32_t>(j));
    auto closer = [&](int32_t a, int32_t b) {
      const double da = d[static_cast<size_t>(a)], db = d[static_cast<size_t>(b)];
      return da < db || (da == db && a < b);
    };
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), closer);
    for (int t = 0; t < k; ++t) {
      res.indices(i, t) = idx[static_cast<size_t>(t)];
      res.distances(i, t) =
          static_cast<float>(std::sqrt(std::max(0.0, d[static_cast<size_t>(idx[static_cast<size_t>(t)])])));
    }
  });
  return res;
}

}  // namespace lumaflow
