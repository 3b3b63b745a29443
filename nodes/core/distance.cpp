#include "nodes/core/distance.hpp"

namespace lumaflow {

Eigen::VectorXf squared_norms(MatrixRefF x) {
  Eigen::VectorXf out(x.rows());
  for (Eigen::Index i = 0; i < x.rows(); ++i) out(i) = static_cast<float>(x.row(i).cast<double>().squaredNorm());
  return out;
}

RowMatrixF l2_normalize_rows(MatrixRefF x) {
  RowMatrixF out = x;
  for (Eigen::Index i = 0; i < out.rows(); ++i) {
    const double norm = out.row(i).cast<double>().norm();
    if (norm > 0) out.row(i) /= static_cast<float>(norm);
  }
  return out;
}

}  // namespace lumaflow
