// nodes/core/distance.hpp: every helper against a naive double-precision reference.
#include "nodes/core/distance.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace lumaflow {
namespace {

double naive_sq(const float* a, const float* b, size_t d) {
  double s = 0;
  for (size_t i = 0; i < d; ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return s;
}

RowMatrixF random_rows(Eigen::Index n, Eigen::Index d, uint64_t seed, float scale = 1.f) {
  std::mt19937_64 g(seed);
  RowMatrixF x(n, d);
  for (Eigen::Index i = 0; i < x.size(); ++i)
    x.data()[i] = scale * (static_cast<float>(g() >> 40) / static_cast<float>(1 << 24) - 0.5f);
  return x;
}

TEST(LaneSquaredL2, MatchesNaiveReferenceForEveryTailLength) {
  for (size_t d : {0, 1, 3, 7, 8, 9, 15, 16, 17, 100, 1023, 16384}) {
    const RowMatrixF x = random_rows(2, static_cast<Eigen::Index>(std::max<size_t>(d, 1)), d + 1, 4.f);
    const double ref = naive_sq(x.row(0).data(), x.row(1).data(), d);
    const float got = lane_squared_l2(x.row(0).data(), x.row(1).data(), d);
    EXPECT_NEAR(got, ref, 1e-5 * std::max(1.0, ref)) << "d=" << d;
    EXPECT_EQ(lane_squared_l2(x.row(0).data(), x.row(0).data(), d), 0.f);
    EXPECT_EQ(got, lane_squared_l2(x.row(1).data(), x.row(0).data(), d)) << "not symmetric, d=" << d;
  }
}

TEST(LaneSquaredL2, ExactOnSmallIntegers) {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  const std::vector<float> b = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(lane_squared_l2(a.data(), b.data(), a.size()), 506.f);  // Σ k² for k = 1..11
}

TEST(LaneSquaredL2, SameBitsWhateverTheAddress) {
  // The summation order is fixed, so where the row sits in memory (alignment) cannot matter.
  const RowMatrixF x = random_rows(2, 301, 5, 10.f);
  const float at_start = lane_squared_l2(x.row(0).data(), x.row(1).data(), 301);
  std::vector<float> shifted(301 + 3), other(301 + 1);
  std::memcpy(shifted.data() + 3, x.row(0).data(), 301 * sizeof(float));
  std::memcpy(other.data() + 1, x.row(1).data(), 301 * sizeof(float));
  EXPECT_EQ(lane_squared_l2(shifted.data() + 3, other.data() + 1, 301), at_start);
}

TEST(SquaredL2Double, MatchesNaiveReference) {
  const RowMatrixF x = random_rows(5, 777, 9, 3.f);
  for (Eigen::Index i = 0; i < 5; ++i)
    for (Eigen::Index j = 0; j < 5; ++j) {
      const double ref = naive_sq(x.row(i).data(), x.row(j).data(), 777);
      EXPECT_NEAR(squared_l2_double(x, i, j), ref, 1e-12 * std::max(1.0, ref));
    }
}

TEST(SquaredNorms, MatchNaiveReference) {
  const RowMatrixF x = random_rows(7, 130, 3, 2.f);
  const Eigen::VectorXf sq = squared_norms(x);
  ASSERT_EQ(sq.size(), 7);
  const std::vector<float> zero(130, 0.f);
  for (Eigen::Index i = 0; i < 7; ++i) EXPECT_NEAR(sq(i), naive_sq(x.row(i).data(), zero.data(), 130), 1e-5);
}

TEST(L2NormalizeRows, UnitRowsSameDirectionZeroRowsStayZero) {
  RowMatrixF x = random_rows(4, 50, 21, 6.f);
  x.row(2).setZero();
  const RowMatrixF y = l2_normalize_rows(x);
  for (Eigen::Index i = 0; i < 4; ++i) {
    if (i == 2) {
      EXPECT_TRUE(y.row(i).isZero(0));
      continue;
    }
    EXPECT_NEAR(y.row(i).cast<double>().norm(), 1.0, 1e-6);
    // Same direction: cosine 1 with the original row.
    const double cosine = x.row(i).cast<double>().dot(y.row(i).cast<double>()) / x.row(i).cast<double>().norm();
    EXPECT_NEAR(cosine, 1.0, 1e-6);
  }
  // Between unit rows the squared distance is 2 − 2·cos.
  const double cos01 = y.row(0).cast<double>().dot(y.row(1).cast<double>());
  EXPECT_NEAR(lane_squared_l2(y.row(0).data(), y.row(1).data(), 50), 2.0 - 2.0 * cos01, 1e-5);
}

}  // namespace
}  // namespace lumaflow
