#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "nodes/analysis/knn.hpp"
#include "nodes/analysis/metrics.hpp"

using namespace lumaflow;

namespace {

RowMatrixF line(const std::vector<float>& xs) {
  RowMatrixF x(static_cast<Eigen::Index>(xs.size()), 1);
  for (size_t i = 0; i < xs.size(); ++i) x(static_cast<Eigen::Index>(i), 0) = xs[i];
  return x;
}

RowMatrixF uniform(int n, int d, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u;
  RowMatrixF x(n, d);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = u(rng);
  return x;
}

// sklearn.manifold.trustworthiness written out naively: full double distance matrices, every
// row ranked by (distance, index).
double reference_trustworthiness(const RowMatrixF& high, const RowMatrixF& low, int k) {
  const auto n = static_cast<int>(high.rows());
  auto order = [&](const RowMatrixF& x, int i) {
    std::vector<std::pair<double, int>> d;
    for (int j = 0; j < n; ++j)
      if (j != i) d.push_back({(x.row(i).cast<double>() - x.row(j).cast<double>()).norm(), j});
    std::sort(d.begin(), d.end());
    return d;
  };
  double t = 0;
  for (int i = 0; i < n; ++i) {
    const auto h = order(high, i), l = order(low, i);
    std::vector<int> rank(static_cast<size_t>(n), 0);
    for (size_t r = 0; r < h.size(); ++r) rank[static_cast<size_t>(h[r].second)] = static_cast<int>(r) + 1;
    for (int t2 = 0; t2 < k; ++t2) t += std::max(0, rank[static_cast<size_t>(l[static_cast<size_t>(t2)].second)] - k);
  }
  return 1.0 - t * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)));
}

}  // namespace

TEST(Metrics, CountsAndNoise) {
  EXPECT_EQ(cluster_count({-1, 0, 0, 3, -1, 5}), 3);
  EXPECT_EQ(cluster_count({-1, -1}), 0);
  EXPECT_DOUBLE_EQ(noise_fraction({-1, 0, 0, 3, -1, 5}), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(noise_fraction({}), 0.0);
}

// Hand values from the combinatorial form ARI = (Σ C(nij,2) − E) / (½(Σ C(ai,2) + Σ C(bj,2)) − E),
// E = Σ C(ai,2)·Σ C(bj,2) / C(n,2).
TEST(Metrics, AdjustedRandIndexClassicExamples) {
  EXPECT_DOUBLE_EQ(adjusted_rand_index({0, 0, 1, 1}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(adjusted_rand_index({0, 0, 1, 1}, {1, 1, 0, 0}), 1.0);    // renaming
  EXPECT_DOUBLE_EQ(adjusted_rand_index({0, 0, 1, 1}, {-1, -1, 7, 7}), 1.0);  // noise is a label
  // Σnij = 1, Σai = 1, Σbj = 2, C(4,2) = 6: (1 − 1/3) / (3/2 − 1/3) = 4/7.
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 2}, {0, 0, 1, 1}), 4.0 / 7.0, 1e-15);
  // Σnij = 0, Σai = 6, Σbj = 0: 0.
  EXPECT_NEAR(adjusted_rand_index({0, 0, 0, 0}, {0, 1, 2, 3}), 0.0, 1e-15);
  // Σnij = 0, Σai = Σbj = 2: (0 − 2/3) / (2 − 2/3) = −1/2.
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 1}, {0, 1, 0, 1}), -0.5, 1e-15);
  // 6 points: truth {0,1,2}{3,4,5}, pred {0,1}{2,3}{4,5}: Σnij = 2, Σai = 6, Σbj = 3, C(6,2) = 15.
  // E = 18/15 = 1.2, max = 4.5: (2 − 1.2) / (4.5 − 1.2) = 0.8 / 3.3.
  EXPECT_NEAR(adjusted_rand_index({0, 0, 0, 1, 1, 1}, {0, 0, 1, 1, 2, 2}), 0.8 / 3.3, 1e-15);
  EXPECT_DOUBLE_EQ(adjusted_rand_index({}, {}), 1.0);
  EXPECT_THROW(adjusted_rand_index({0}, {0, 1}), std::invalid_argument);
}

TEST(Metrics, AdjustedRandIndexIsPermutationInvariant) {
  std::mt19937 rng(2);
  Labels a(200), b(200);
  for (auto& v : a) v = static_cast<int>(rng() % 7);
  for (auto& v : b) v = static_cast<int>(rng() % 5) - 1;
  const double ari = adjusted_rand_index(a, b);
  Labels renamed = b;
  for (auto& v : renamed) v = 40 - 3 * v;
  EXPECT_DOUBLE_EQ(adjusted_rand_index(a, renamed), ari);
  EXPECT_DOUBLE_EQ(adjusted_rand_index(b, a), ari);  // symmetric
  EXPECT_DOUBLE_EQ(adjusted_rand_index(a, a), 1.0);
  EXPECT_LT(std::abs(ari), 0.1);  // independent random labelings score near 0
}

TEST(Metrics, NormalizedMutualInfoHandValues) {
  EXPECT_DOUBLE_EQ(normalized_mutual_info({0, 0, 1, 1}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info({0, 0, 1, 1}, {5, 5, -1, -1}), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info({0, 0, 1, 1}, {0, 1, 0, 1}), 0.0);
  // MI = ln 2, H(truth) = 1.5 ln 2, H(pred) = ln 2: NMI = 1 / 1.25.
  EXPECT_NEAR(normalized_mutual_info({0, 0, 1, 2}, {0, 0, 1, 1}), 0.8, 1e-15);
  EXPECT_DOUBLE_EQ(normalized_mutual_info({1, 1, 1}, {2, 2, 2}), 1.0);  // both constant
  EXPECT_DOUBLE_EQ(normalized_mutual_info({0, 1, 2}, {2, 2, 2}), 0.0);  // one constant
  EXPECT_DOUBLE_EQ(normalized_mutual_info({}, {}), 1.0);
  // Truth {0,0,0,1,1,1} vs pred {0,0,1,1,2,2}: cells 2,1,1,2 of 6. MI = (2/6)ln(2/6 / (1/2·1/3))·2
  // + (1/6)ln(1/6 / (1/2·1/3))·2 = (2/3) ln 2; H(truth) = ln 2, H(pred) = ln 3.
  EXPECT_NEAR(normalized_mutual_info({0, 0, 0, 1, 1, 1}, {0, 0, 1, 1, 2, 2}),
              (2.0 / 3.0) * std::log(2.0) / ((std::log(2.0) + std::log(3.0)) / 2), 1e-15);
}

TEST(Metrics, Purity) {
  // Clusters: 0 -> {0,0} (2), 1 -> {0,1,1} (2), −1 -> {2} (1): 5/6.
  EXPECT_DOUBLE_EQ(purity({0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 1, -1}), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(purity({0, 1, 2, 3}, {0, 1, 2, 3}), 1.0);
  EXPECT_DOUBLE_EQ(purity({0, 1, 2, 3}, {0, 0, 0, 0}), 0.25);
}

TEST(Metrics, TrustworthinessIdentityAndScrambled) {
  const RowMatrixF high = uniform(60, 20, 4);
  EXPECT_DOUBLE_EQ(trustworthiness(high, high, 5), 1.0);
  // A random permutation of the rows destroys the neighbourhoods.
  std::vector<int> perm(60);
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937 rng(8);
  std::shuffle(perm.begin(), perm.end(), rng);
  RowMatrixF scrambled(60, 20);
  for (int i = 0; i < 60; ++i) scrambled.row(i) = high.row(perm[static_cast<size_t>(i)]);
  const double t = trustworthiness(high, scrambled, 5);
  EXPECT_LT(t, 0.8);
  EXPECT_DOUBLE_EQ(t, reference_trustworthiness(high, scrambled, 5));
  // A projection onto 2 coordinates: partially trustworthy.
  const RowMatrixF proj = high.leftCols(2);
  for (int k : {1, 3, 7}) {
    const double tp = trustworthiness(high, proj, k, 2);
    EXPECT_DOUBLE_EQ(tp, reference_trustworthiness(high, proj, k)) << "k " << k;
    EXPECT_GT(tp, t);
    EXPECT_LT(tp, 1.0);
    EXPECT_DOUBLE_EQ(trustworthiness(high, proj, k, 1), tp);
  }
  EXPECT_THROW(trustworthiness(high, proj, 30), std::invalid_argument);
  EXPECT_THROW(trustworthiness(high, proj.topRows(10), 3), std::invalid_argument);
}

TEST(Metrics, LeaveOneOutNearestNeighbour) {
  // 20's nearest is 11 (label 1, wrong); every other point's neighbour shares its label.
  EXPECT_DOUBLE_EQ(loo_1nn_accuracy(line({0, 1, 10, 11, 20}), {0, 0, 1, 1, 0}), 0.8);
  // Point 1 is equidistant from 0 and 2: the tie goes to index 0.
  EXPECT_DOUBLE_EQ(loo_1nn_accuracy(line({0, 1, 2}), {5, 5, 7}), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(loo_1nn_accuracy(line({0, 1, 2}), {7, 5, 5}), 1.0 / 3.0);
  // Unlabelled points are neither scored nor used as neighbours.
  EXPECT_DOUBLE_EQ(loo_1nn_accuracy(line({0, 1, 10, 11}), {0, -1, 1, 1}), 2.0 / 3.0);
  EXPECT_THROW(loo_1nn_accuracy(line({0, 1}), {0, -1}), std::invalid_argument);
  EXPECT_THROW(loo_1nn_accuracy(line({0, 1}), {0}), std::invalid_argument);
  // Thread count does not matter.
  const RowMatrixF x = uniform(300, 10, 6);
  Labels y(300);
  for (int i = 0; i < 300; ++i) y[static_cast<size_t>(i)] = x(i, 0) > 0.5f ? 1 : 0;
  const double a = loo_1nn_accuracy(x, y, 1);
  EXPECT_DOUBLE_EQ(loo_1nn_accuracy(x, y, 3), a);
  EXPECT_GT(a, 0.5);
}

TEST(Metrics, StratifiedFolds) {
  Labels y;
  for (int c = 0; c < 3; ++c) y.insert(y.end(), static_cast<size_t>(c == 0 ? 10 : c == 1 ? 7 : 5), c);
  y.push_back(-1);  // unlabelled points get folds too
  const std::vector<int> f = stratified_folds(y, 5, 1);
  ASSERT_EQ(f.size(), y.size());
  std::vector<int> size(5, 0);
  for (int c = -1; c < 3; ++c) {
    std::vector<int> per(5, 0);
    for (size_t i = 0; i < y.size(); ++i)
      if (y[i] == c) {
        ASSERT_GE(f[i], 0);
        ASSERT_LT(f[i], 5);
        ++per[static_cast<size_t>(f[i])];
      }
    EXPECT_LE(*std::max_element(per.begin(), per.end()) - *std::min_element(per.begin(), per.end()), 1)
        << "class " << c;
  }
  for (int v : f) ++size[static_cast<size_t>(v)];
  EXPECT_LE(*std::max_element(size.begin(), size.end()) - *std::min_element(size.begin(), size.end()), 1);
  EXPECT_EQ(stratified_folds(y, 5, 1), f);  // deterministic
  EXPECT_NE(stratified_folds(y, 5, 2), f);  // the seed matters
  EXPECT_THROW(stratified_folds(y, 1, 1), std::invalid_argument);
  EXPECT_THROW(stratified_folds(y, 24, 1), std::invalid_argument);
}

TEST(Metrics, StratifiedHoldout) {
  Labels y;
  for (int p = 0; p < 40; ++p) y.insert(y.end(), 10, p);
  y.push_back(40);  // a class of one keeps its only point for training
  y.push_back(-1);  // unlabelled: in neither part
  const Split s = stratified_holdout(y, 2, 7);
  EXPECT_EQ(s.test.size(), 80u);
  EXPECT_EQ(s.train.size(), 321u);
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.test.begin(), s.test.end()));
  std::vector<int> in_test(41, 0), seen(y.size(), 0);
  for (int i : s.test) {
    ++in_test[static_cast<size_t>(y[static_cast<size_t>(i)])];
    ++seen[static_cast<size_t>(i)];
  }
  for (int i : s.train) ++seen[static_cast<size_t>(i)];
  for (int p = 0; p < 40; ++p) EXPECT_EQ(in_test[static_cast<size_t>(p)], 2);
  EXPECT_EQ(in_test[40], 0);
  for (size_t i = 0; i + 1 < y.size(); ++i) EXPECT_EQ(seen[i], 1) << i;
  EXPECT_EQ(seen.back(), 0);
  const Split again = stratified_holdout(y, 2, 7);
  EXPECT_EQ(again.test, s.test);
  EXPECT_NE(stratified_holdout(y, 2, 8).test, s.test);
}
