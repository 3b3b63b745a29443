#include <gtest/gtest.h>

#include <random>

#include "nodes/analysis/knn.hpp"

using namespace lumaflow;

TEST(Knn, MatchesBruteForceAndBreaksTiesByIndex) {
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  RowMatrixF x(60, 33);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = g(rng);
  x.row(5) = x.row(3);  // exact duplicate: distance 0, tie resolved by index
  const auto r = exact_knn(x, 4, /*exclude_self=*/true, 2);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    std::vector<std::pair<float, int>> all;
    for (Eigen::Index j = 0; j < x.rows(); ++j)
      if (j != i) all.push_back({(x.row(i) - x.row(j)).norm(), static_cast<int>(j)});
    std::sort(all.begin(), all.end());
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(r.indices(i, j), all[j].second) << "row " << i;
      EXPECT_NEAR(r.distances(i, j), all[j].first, 1e-3f);
    }
  }
  EXPECT_EQ(r.indices(3, 0), 5);
  EXPECT_EQ(r.indices(5, 0), 3);
}

TEST(Knn, IncludesSelfFirstWhenAsked) {
  RowMatrixF x(3, 2);
  x << 0, 0, 1, 0, 5, 5;
  const auto r = exact_knn(x, 2);
  EXPECT_EQ(r.indices(0, 0), 0);
  EXPECT_EQ(r.indices(0, 1), 1);
  EXPECT_FLOAT_EQ(r.distances(2, 0), 0.f);
}

TEST(Knn, ThreadCountDoesNotChangeResult) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u;
  RowMatrixF x(300, 50);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = u(rng);
  const auto a = exact_knn(x, 7, false, 1), b = exact_knn(x, 7, false, 2);
  EXPECT_TRUE(a.indices == b.indices);
  EXPECT_TRUE(a.distances == b.distances);
}

TEST(Knn, RejectsBadK) {
  RowMatrixF x(3, 2);
  x.setZero();
  EXPECT_THROW(exact_knn(x, 3, true), std::invalid_argument);
}
