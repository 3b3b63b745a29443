// Template definitions for nodes/knn.hpp.
#pragma once

#include <algorithm>

#include "nodes/core/parallel.hpp"

namespace lumaflow {

template <class Visit>
void for_each_distance_block(MatrixRefF query, MatrixRefF data, int block_rows, Visit&& visit) {
  const Eigen::Index nq = query.rows(), nd = data.rows();
  if (block_rows <= 0) block_rows = 256;
  const Eigen::VectorXf dn = squared_norms(data);
  const Eigen::VectorXf qn = squared_norms(query);
  RowMatrixF block;
  for (Eigen::Index b = 0; b < nq; b += block_rows) {
    const Eigen::Index rows = std::min<Eigen::Index>(block_rows, nq - b);
    block.resize(rows, nd);
    block.noalias() = -2.0f * query.middleRows(b, rows) * data.transpose();
    for (Eigen::Index r = 0; r < rows; ++r) {
      const float q = qn(b + r);
      auto row = block.row(r);
      for (Eigen::Index j = 0; j < nd; ++j) row(j) = std::max(0.0f, row(j) + q + dn(j));
    }
    visit(b, static_cast<const RowMatrixF&>(block));
  }
}

}  // namespace lumaflow
