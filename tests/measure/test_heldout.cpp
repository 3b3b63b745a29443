// The k-fold SVM protocol: on precomputed distances (libsvm) it scores as on vectors (OpenCV's
// solver) on the same folds; d > n takes the precomputed path.
#include <gtest/gtest.h>

#include <numeric>

#include "blobs.hpp"
#include "nodes/analysis/pca.hpp"
#include "nodes/analysis/svm_precomputed.hpp"
#include "nodes/measure/heldout.hpp"

using namespace lumaflow;

TEST(KfoldSvm, PrecomputedDistancesScoreAsTheVectors) {
  // 8 overlapping people, 15 faces each, d > n as pixels are.
  const test::Blobs b = test::gaussian_blobs(8, 15, 200, 1.2f, 0.6f, 21, 0.5f);
  const double vectors = kfold_svm_accuracy(b.x, b.x, b.y, 5, 7);  // OpenCV's solver on the rows
  std::vector<int> all(b.y.size());
  std::iota(all.begin(), all.end(), 0);
  const KfoldSvm pre = kfold_svm_precomputed(squared_distances_from_gram(gram_matrix(b.x), all), b.x, b.y, 5, 7);
  EXPECT_GT(vectors, 0.3);
  EXPECT_LT(vectors, 0.98);                       // hard enough that the two solvers could disagree
  EXPECT_NEAR(pre.accuracy, vectors, 2.0 / 120);  // at most two faces of 120 decided otherwise
  EXPECT_GT(pre.support_vectors, 8);
  EXPECT_DOUBLE_EQ(kfold_svm_accuracy(b.x, b.y, 5, 7), pre.accuracy);  // d > n: the precomputed path
  EXPECT_THROW(kfold_svm_precomputed(Eigen::MatrixXd::Zero(3, 3), b.x, b.y, 5, 7), std::invalid_argument);
}
