// The k-fold SVM's precomputed-kernel machine (libsvm) against the vector SVM (OpenCV's solver,
// the same SMO family): same answers on overlapping blobs, labels kept, distances from the Gram
// matrix, arguments checked.
#include <gtest/gtest.h>

#include <numeric>

#include "blobs.hpp"
#include "nodes/analysis/svm.hpp"
#include "nodes/analysis/svm_precomputed.hpp"

using namespace lumaflow;

namespace {

struct Split {
  std::vector<int> train, test;
  Labels ytrain;
};

Split every_fourth_for_test(const Labels& y) {
  Split s;
  for (int i = 0; i < static_cast<int>(y.size()); ++i) {
    if (i % 4 == 3) {
      s.test.push_back(i);
    } else {
      s.train.push_back(i);
      s.ytrain.push_back(y[static_cast<size_t>(i)]);
    }
  }
  return s;
}

}  // namespace

TEST(SvmPrecomputed, DistancesFromTheGramMatrixAreTheRowDistances) {
  const test::Blobs b = test::gaussian_blobs(3, 10, 7, 2.f, 0.5f, 3, 1.f);
  const Eigen::MatrixXd d = squared_distances(b.x);
  ASSERT_EQ(d.rows(), 30);
  for (int i = 0; i < 30; ++i)
    for (int j = 0; j < 30; ++j)
      EXPECT_NEAR(d(i, j), (b.x.row(i).cast<double>() - b.x.row(j).cast<double>()).squaredNorm(), 1e-9)
          << i << "," << j;
  const Eigen::MatrixXd g = b.x.cast<double>() * b.x.cast<double>().transpose();
  const Eigen::MatrixXd sub = squared_distances_from_gram(g, {4, 17, 29});
  EXPECT_NEAR(sub(0, 2), d(4, 29), 1e-9);
  EXPECT_NEAR(sub(1, 1), 0.0, 1e-12);
}

// Overlapping blobs (many support vectors, some test faces near boundaries): the precomputed
// machine decides as the vector SVM does on nearly every test row, with the same gamma and C.
TEST(SvmPrecomputed, DecidesAsTheVectorSvm) {
  const test::Blobs b = test::gaussian_blobs(6, 40, 12, 1.5f, 0.8f, 11);
  const Split s = every_fourth_for_test(b.y);
  RowMatrixF xtr(static_cast<Eigen::Index>(s.train.size()), b.x.cols()),
      xte(static_cast<Eigen::Index>(s.test.size()), b.x.cols());
  for (size_t i = 0; i < s.train.size(); ++i) xtr.row(static_cast<Eigen::Index>(i)) = b.x.row(s.train[i]);
  for (size_t i = 0; i < s.test.size(); ++i) xte.row(static_cast<Eigen::Index>(i)) = b.x.row(s.test[i]);
  SvmClassifier svm;
  svm.fit(xtr, s.ytrain, {.C = 1.0, .gamma = 0.05});
  const auto want = svm.predict(xte);
  const PrecomputedSvmResult got = precomputed_svm(squared_distances(b.x), s.train, s.ytrain, s.test, 1.0, 0.05, 2);
  ASSERT_EQ(got.predicted.size(), s.test.size());
  int agree = 0, right = 0;
  for (size_t i = 0; i < s.test.size(); ++i) {
    agree += got.predicted[i] == want[i].label;
    right += got.predicted[i] == b.y[static_cast<size_t>(s.test[i])];
  }
  EXPECT_GE(agree, static_cast<int>(s.test.size()) - 1);  // at most one boundary row may differ
  EXPECT_GT(right, static_cast<int>(s.test.size()) * 6 / 10);
  EXPECT_NEAR(got.support_vectors, svm.support_vector_count(), svm.support_vector_count() / 20 + 1);
  // Thread count does not change the answer.
  EXPECT_EQ(precomputed_svm(squared_distances(b.x), s.train, s.ytrain, s.test, 1.0, 0.05, 1).predicted, got.predicted);
}

TEST(SvmPrecomputed, KeepsTheCallersLabelsInAnyOrder) {
  test::Blobs b = test::gaussian_blobs(3, 12, 4, 5.f, 0.3f, 5);
  const int names[] = {11, 3, 7};
  for (int& l : b.y) l = names[l];
  const Split s = every_fourth_for_test(b.y);
  const auto got = precomputed_svm(squared_distances(b.x), s.train, s.ytrain, s.test, 1.0, 0.5);
  for (size_t i = 0; i < s.test.size(); ++i) EXPECT_EQ(got.predicted[i], b.y[static_cast<size_t>(s.test[i])]);
}

TEST(SvmPrecomputed, RefusesBadArguments) {
  const Eigen::MatrixXd d = Eigen::MatrixXd::Zero(4, 4);
  EXPECT_THROW(precomputed_svm(d, {0, 1}, {0}, {2}, 1, 1), std::invalid_argument);      // labels
  EXPECT_THROW(precomputed_svm(d, {0, 7}, {0, 1}, {2}, 1, 1), std::invalid_argument);   // row range
  EXPECT_THROW(precomputed_svm(d, {0, 1}, {0, 1}, {9}, 1, 1), std::invalid_argument);   // test range
  EXPECT_THROW(precomputed_svm(d, {0, 1}, {0, -1}, {2}, 1, 1), std::invalid_argument);  // label < 0
  EXPECT_THROW(precomputed_svm(d, {0, 1}, {0, 1}, {2}, 0, 1), std::invalid_argument);   // C
  EXPECT_THROW(precomputed_svm(d, {0, 1}, {0, 1}, {2}, 1, 0), std::invalid_argument);   // gamma
}
