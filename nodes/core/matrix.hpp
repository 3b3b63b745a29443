// Matrix and label types shared by the numeric nodes.
//
// Vectors are rows: a data set of n points in d dimensions is an n×d row-major float matrix,
// the layout the store maps and the layout that makes one point one contiguous span.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace lumaflow {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixRefF = Eigen::Ref<const RowMatrixF>;
using VectorF = Eigen::VectorXf;

// Per-point labels: 0..k-1 for a class or cluster, -1 for none (unlabelled or noise).
using Labels = std::vector<int>;

}  // namespace lumaflow
