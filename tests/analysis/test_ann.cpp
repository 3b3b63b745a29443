#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "nodes/analysis/ann.hpp"
#include "nodes/analysis/knn.hpp"

using namespace lumaflow;

namespace {

RowMatrixF gaussian(Eigen::Index n, Eigen::Index d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  RowMatrixF x(n, d);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < d; ++j) x(i, j) = g(rng);
  return x;
}

double recall(const KnnResult& approx, const KnnResult& exact) {
  const Eigen::Index n = exact.indices.rows(), k = exact.indices.cols();
  size_t hit = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    std::set<int32_t> truth(exact.indices.row(i).data(), exact.indices.row(i).data() + k);
    for (Eigen::Index j = 0; j < k; ++j) hit += truth.count(approx.indices(i, j));
  }
  return static_cast<double>(hit) / static_cast<double>(n * k);
}

}  // namespace

TEST(Ann, RecallAt10AgainstExactOnRandomData) {
  // 16-d isotropic Gaussian: no cluster structure to help the graph, so a fair recall test.
  const RowMatrixF data = gaussian(1200, 16, 1);
  const RowMatrixF query = gaussian(200, 16, 2);
  const KnnResult exact = exact_knn(query, data, 10);
  const KnnResult approx = approximate_knn(query, data, 10);
  const double rec = recall(approx, exact);
  RecordProperty("recall", std::to_string(rec));
  EXPECT_GE(rec, 0.95);
}

TEST(Ann, SelfQueryRecallAndExcludeSelf) {
  const RowMatrixF data = gaussian(800, 12, 3);
  const KnnResult exact = exact_knn(data, 10, /*exclude_self=*/true);
  const AnnIndex index(data);
  const KnnResult approx = index.query_self(10, /*exclude_self=*/true);
  EXPECT_GE(recall(approx, exact), 0.95);
  for (Eigen::Index i = 0; i < data.rows(); ++i)
    for (Eigen::Index j = 0; j < 10; ++j) EXPECT_NE(approx.indices(i, j), i);

  // Without exclusion the point itself comes first at distance 0 (the data has no duplicates).
  const KnnResult with_self = index.query_self(5, false);
  for (Eigen::Index i = 0; i < data.rows(); ++i) {
    EXPECT_EQ(with_self.indices(i, 0), i);
    EXPECT_FLOAT_EQ(with_self.distances(i, 0), 0.0f);
  }
}

TEST(Ann, DistancesAreEuclideanAndSorted) {
  const RowMatrixF data = gaussian(500, 8, 4);
  const RowMatrixF query = gaussian(50, 8, 5);
  const KnnResult r = approximate_knn(query, data, 7);
  for (Eigen::Index i = 0; i < query.rows(); ++i) {
    for (Eigen::Index j = 0; j < 7; ++j) {
      const int32_t idx = r.indices(i, j);
      ASSERT_GE(idx, 0);
      const double ref = (query.row(i).cast<double>() - data.row(idx).cast<double>()).norm();
      EXPECT_NEAR(r.distances(i, j), ref, 1e-4 * (1.0 + ref));
      if (j > 0) {
        EXPECT_LE(r.distances(i, j - 1), r.distances(i, j));
      }
    }
  }
}

TEST(Ann, DeterministicAcrossBuildsAndThreadCounts) {
  const RowMatrixF data = gaussian(600, 10, 6);
  const RowMatrixF query = gaussian(100, 10, 7);
  AnnOptions o;
  o.threads = 1;
  const AnnIndex a(data, o);
  const AnnIndex b(data, o);
  const KnnResult ra = a.query(query, 10, 1);
  const KnnResult rb = b.query(query, 10, 2);
  EXPECT_EQ(ra.indices, rb.indices);
  EXPECT_EQ(ra.distances, rb.distances);
  // A row's answer does not depend on the batch it is in.
  const KnnResult single = a.query(query.middleRows(17, 1), 10);
  EXPECT_EQ(single.indices.row(0), ra.indices.row(17));
}

TEST(Ann, RejectsBadInput) {
  const RowMatrixF data = gaussian(50, 4, 8);
  EXPECT_THROW(AnnIndex(RowMatrixF(0, 4)), std::invalid_argument);
  RowMatrixF bad = data;
  bad(3, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(AnnIndex{bad}, std::invalid_argument);
  const AnnIndex index(data);
  EXPECT_THROW(index.query(gaussian(2, 5, 9), 3), std::invalid_argument);
  EXPECT_THROW(index.query(gaussian(2, 4, 9), 51), std::invalid_argument);
  EXPECT_THROW(index.query_self(50, true), std::invalid_argument);
  AnnOptions o;
  o.M = 1;
  EXPECT_THROW(AnnIndex(data, o), std::invalid_argument);
}
