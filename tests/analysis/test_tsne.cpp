#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "nodes/analysis/tsne.hpp"

using namespace lumaflow;

namespace {

// k Gaussian blobs of `per` points in `dim` dimensions, centres `sep` apart along separate axes;
// the blob of each point in *labels when given.
RowMatrixF blobs(int k, int per, int dim, float sep, uint32_t seed, Labels* labels = nullptr) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  RowMatrixF x(k * per, dim);
  for (int c = 0; c < k; ++c)
    for (int p = 0; p < per; ++p) {
      const int i = c * per + p;
      for (int d = 0; d < dim; ++d) x(i, d) = g(rng);
      x(i, c % dim) += sep;
      if (labels) labels->push_back(c);
    }
  return x;
}

// Leave-one-out 1-NN label agreement in the embedding (brute force).
double one_nn_agreement(const RowMatrixF& y, const Labels& labels) {
  int hits = 0;
  for (Eigen::Index i = 0; i < y.rows(); ++i) {
    Eigen::Index best = -1;
    float bd = std::numeric_limits<float>::max();
    for (Eigen::Index j = 0; j < y.rows(); ++j) {
      if (j == i) continue;
      const float d = (y.row(i) - y.row(j)).squaredNorm();
      if (d < bd) bd = d, best = j;
    }
    hits += labels[static_cast<size_t>(i)] == labels[static_cast<size_t>(best)];
  }
  return static_cast<double>(hits) / static_cast<double>(y.rows());
}

bool bit_identical(const RowMatrixF& a, const RowMatrixF& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0;
}

}  // namespace

TEST(Tsne, PerplexitySearchHitsTargetEntropy) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  const int n = 40, k = 25;
  RowMatrixF sq(n, k);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) {
      // Rows at very different scales, up to the ~10³ of squared distances between 16384-d faces,
      // where an unshifted exp(−β d) underflows.
      const float scale = i < n / 2 ? 1.f : 2000.f;
      sq(i, j) = scale * (0.5f + u(rng));
    }
  for (double perplexity : {2.0, 5.0, 15.0}) {
    const RowMatrixD p = detail::binary_search_perplexity(sq, perplexity, 2);
    for (int i = 0; i < n; ++i) {
      double sum = 0, h = 0;
      for (int j = 0; j < k; ++j) {
        ASSERT_GE(p(i, j), 0.0);
        sum += p(i, j);
        if (p(i, j) > 0) h -= p(i, j) * std::log(p(i, j));
      }
      EXPECT_NEAR(sum, 1.0, 1e-9);
      EXPECT_NEAR(h, std::log(perplexity), 1e-3) << "row " << i << " perplexity " << perplexity;
      // Gaussian in the distance: a nearer neighbour never gets less probability.
      for (int j = 0; j < k; ++j)
        for (int l = 0; l < k; ++l)
          if (sq(i, j) < sq(i, l)) {
            EXPECT_GE(p(i, j), p(i, l));
          }
    }
  }
}

TEST(Tsne, JointProbabilitiesAreSymmetrisedAndNormalised) {
  // 4 points, one neighbour each with p = 1: 0→1, 1→0, 2→1, 3→2.
  IndexMatrix nbr(4, 1);
  nbr << 1, 0, 1, 2;
  RowMatrixD cond = RowMatrixD::Ones(4, 1);
  const auto P = detail::joint_probabilities(nbr, cond);
  // P + Pᵀ: (0,1)=2, (1,0)=2, (2,1)=1, (1,2)=1, (3,2)=1, (2,3)=1; total 8.
  RowMatrixD dense = RowMatrixD::Zero(4, 4);
  for (int r = 0; r < 4; ++r)
    for (int64_t t = P.indptr[r]; t < P.indptr[r + 1]; ++t) {
      if (t > P.indptr[r]) {
        EXPECT_LT(P.indices[t - 1], P.indices[t]) << "row " << r << " not sorted";
      }
      dense(r, P.indices[t]) = P.values[t];
    }
  RowMatrixD expect = RowMatrixD::Zero(4, 4);
  expect(0, 1) = expect(1, 0) = 2.0 / 8;
  expect(1, 2) = expect(2, 1) = 1.0 / 8;
  expect(2, 3) = expect(3, 2) = 1.0 / 8;
  EXPECT_LT((dense - expect).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(Tsne, BarnesHutWithThetaZeroIsExactRepulsion) {
  std::mt19937 rng(11);
  std::normal_distribution<double> g;
  const int n = 150;
  RowMatrixD y(n, 2);
  for (int i = 0; i < n; ++i) y(i, 0) = 3 * g(rng), y(i, 1) = 3 * g(rng);
  y.row(7) = y.row(3);  // a duplicate: must still count (q = 1, no force)
  // Brute-force reference.
  RowMatrixD f = RowMatrixD::Zero(n, 2);
  double z = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      if (i == j) continue;
      const double dx = y(i, 0) - y(j, 0), dy = y(i, 1) - y(j, 1);
      const double q = 1.0 / (1.0 + dx * dx + dy * dy);
      z += q;
      f(i, 0) += q * q * dx;
      f(i, 1) += q * q * dy;
    }
  const auto exact = detail::bh_repulsion(y, 0.0, 1);
  EXPECT_NEAR(exact.z, z, 1e-9 * z);
  EXPECT_LT((exact.force - f).cwiseAbs().maxCoeff(), 1e-12);

  // θ = 0.5 is an approximation, but a close one.
  const auto bh = detail::bh_repulsion(y, 0.5, 2);
  EXPECT_NEAR(bh.z, z, 0.02 * z);
  EXPECT_LT((bh.force - f).norm() / f.norm(), 0.05);
  // Threads only split the points: same bits.
  const auto bh1 = detail::bh_repulsion(y, 0.5, 1);
  EXPECT_EQ(bh1.z, bh.z);
  EXPECT_TRUE((bh1.force.array() == bh.force.array()).all());
}

TEST(Tsne, LearningRateAutoIsSklearns) {
  TsneOptions opt;
  EXPECT_DOUBLE_EQ(tsne_learning_rate(400, opt), 50.0);    // 400/48 < 50
  EXPECT_DOUBLE_EQ(tsne_learning_rate(4800, opt), 100.0);  // 4800/12/4
  opt.learning_rate = 200.f;
  EXPECT_DOUBLE_EQ(tsne_learning_rate(4800, opt), 200.0);
}

TEST(Tsne, PcaInitFollowsMainAxisWithStd1e4) {
  // Points along direction (1, 2, 0, ...) with small noise: PC1 scores are ∝ t.
  std::mt19937 rng(5);
  std::normal_distribution<float> g;
  const int n = 60, d = 30;
  RowMatrixF x(n, d);
  std::vector<double> t(n);
  for (int i = 0; i < n; ++i) {
    t[i] = g(rng);
    for (int c = 0; c < d; ++c) x(i, c) = 0.01f * g(rng);
    x(i, 0) += static_cast<float>(t[i]);
    x(i, 1) += static_cast<float>(2 * t[i]);
  }
  const RowMatrixD y = detail::initial_embedding(x, TsneOptions{});
  const double m0 = y.col(0).mean();
  const double sd0 = std::sqrt((y.col(0).array() - m0).square().mean());
  EXPECT_NEAR(sd0, 1e-4, 1e-9);
  double tm = 0;
  for (double v : t) tm += v;
  tm /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < n; ++i) {
    sxy += (y(i, 0) - m0) * (t[i] - tm);
    sxx += (y(i, 0) - m0) * (y(i, 0) - m0);
    syy += (t[i] - tm) * (t[i] - tm);
  }
  EXPECT_GT(std::abs(sxy) / std::sqrt(sxx * syy), 0.999);
  // Sign convention: the largest-magnitude score of each column is positive.
  for (int c = 0; c < 2; ++c) {
    Eigen::Index arg;
    y.col(c).cwiseAbs().maxCoeff(&arg);
    EXPECT_GT(y(arg, c), 0.0);
  }
  // Second column is uncorrelated with the first (orthogonal components).
  EXPECT_LT(std::abs((y.col(0).array() - m0).matrix().dot((y.col(1).array() - y.col(1).mean()).matrix())), 1e-6 * sxx);
}

TEST(Tsne, SeparatesGaussianBlobs) {
  Labels labels;
  const RowMatrixF x = blobs(4, 40, 10, 8.f, 21, &labels);
  TsneOptions opt;
  opt.threads = 2;
  const RowMatrixF y = tsne(x, opt);
  ASSERT_EQ(y.rows(), 160);
  ASSERT_EQ(y.cols(), 2);
  ASSERT_TRUE(y.allFinite());
  EXPECT_GE(one_nn_agreement(y, labels), 0.95);
  // Blobs are far apart relative to their own size in the embedding.
  Eigen::MatrixXd centre = Eigen::MatrixXd::Zero(4, 2);
  for (int i = 0; i < 160; ++i) centre.row(labels[i]) += y.row(i).cast<double>() / 40.0;
  double spread = 0, min_gap = std::numeric_limits<double>::max();
  for (int i = 0; i < 160; ++i) spread = std::max(spread, (y.row(i).cast<double>() - centre.row(labels[i])).norm());
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b) min_gap = std::min(min_gap, (centre.row(a) - centre.row(b)).norm());
  EXPECT_GT(min_gap, spread);
}

TEST(Tsne, DeterministicForSeedAndThreadCount) {
  // ≥ 256 points so that two threads really share the per-point passes (smaller inputs run
  // them on one thread); 120 iterations cover both phases and two convergence checks.
  const RowMatrixF x = blobs(3, 100, 6, 5.f, 8);
  auto run = [&](TsneOptions::Init init, uint64_t seed, int threads) {
    TsneOptions opt;
    opt.n_iter = 120;
    opt.exaggeration_iters = 60;
    opt.init = init;
    opt.seed = seed;
    opt.threads = threads;
    return tsne(x, opt);
  };
  for (const auto init : {TsneOptions::Init::pca, TsneOptions::Init::random}) {
    const RowMatrixF one = run(init, 42, 1);
    EXPECT_TRUE(bit_identical(one, run(init, 42, 1)));
    EXPECT_TRUE(bit_identical(one, run(init, 42, 2)));
  }
  EXPECT_FALSE(bit_identical(run(TsneOptions::Init::random, 42, 1), run(TsneOptions::Init::random, 43, 1)));
}

TEST(Tsne, GradientNormStopEndsEachPhaseAtItsFirstCheck) {
  // sklearn checks ‖grad‖ every 50 iterations and, when the exaggeration phase stops early,
  // starts the second phase at the next iteration. With an unreachable norm both phases stop at
  // their first check: iterations 0–49 exaggerated, 50–99 not, the same schedule as an explicit
  // 50 + 50 run.
  const RowMatrixF x = blobs(2, 30, 4, 5.f, 4);
  TsneOptions stop;
  stop.perplexity = 10.f;
  stop.min_grad_norm = 1e30f;
  TsneOptions explicit_run;
  explicit_run.perplexity = 10.f;
  explicit_run.exaggeration_iters = 50;
  explicit_run.n_iter = 100;
  EXPECT_TRUE(bit_identical(tsne(x, stop), tsne(x, explicit_run)));
  explicit_run.n_iter = 101;
  EXPECT_FALSE(bit_identical(tsne(x, stop), tsne(x, explicit_run)));
}

TEST(Tsne, SmallInputsWithinSklearnLimitsWork) {
  const RowMatrixF x = blobs(2, 5, 3, 6.f, 2);  // n = 10 < 3·perplexity + 1
  TsneOptions opt;
  opt.perplexity = 3.f;
  opt.n_iter = 300;
  const RowMatrixF y = tsne(x, opt);
  EXPECT_TRUE(y.allFinite());
  EXPECT_EQ(y.rows(), 10);
}

TEST(Tsne, RejectsBadInput) {
  RowMatrixF x = RowMatrixF::Random(20, 3);
  TsneOptions opt;
  opt.perplexity = 5.f;
  EXPECT_THROW(tsne(x.topRows(3), opt), std::invalid_argument);  // n < 4
  opt.perplexity = 20.f;                                         // must be < n (sklearn)
  EXPECT_THROW(tsne(x, opt), std::invalid_argument);
  opt.perplexity = 5.f;
  RowMatrixF bad = x;
  bad(4, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(tsne(bad, opt), std::invalid_argument);
  bad(4, 1) = std::numeric_limits<float>::infinity();
  EXPECT_THROW(tsne(bad, opt), std::invalid_argument);
  TsneOptions o3 = opt;
  o3.n_components = 3;
  EXPECT_THROW(tsne(x, o3), std::invalid_argument);
  TsneOptions o4 = opt;
  o4.theta = -0.1f;
  EXPECT_THROW(tsne(x, o4), std::invalid_argument);
  TsneOptions o5 = opt;
  o5.learning_rate = 0.f;
  EXPECT_THROW(tsne(x, o5), std::invalid_argument);
  TsneOptions o6 = opt;
  o6.early_exaggeration = 0.5f;
  EXPECT_THROW(tsne(x, o6), std::invalid_argument);
  TsneOptions o7 = opt;
  o7.n_iter = 0;
  EXPECT_THROW(tsne(x, o7), std::invalid_argument);
}
