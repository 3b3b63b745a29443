#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "blobs.hpp"
#include "nodes/analysis/knn.hpp"
#include "nodes/analysis/pca.hpp"
#include "nodes/analysis/umap.hpp"

using namespace lumaflow;

namespace {

using test::Blobs;

// n_blobs Gaussian blobs (unit variance) with centres `sep` apart along distinct axes.
Blobs blobs(int n_blobs, int per, int d, float sep, uint64_t seed) {
  return test::gaussian_blobs(n_blobs, per, d, sep, 1.0f, seed);
}

// Fraction of points whose nearest other point (brute force) has the same label.
double one_nn_agreement(const RowMatrixF& e, const Labels& y) {
  int agree = 0;
  for (Eigen::Index i = 0; i < e.rows(); ++i) {
    double best = std::numeric_limits<double>::infinity();
    Eigen::Index arg = -1;
    for (Eigen::Index j = 0; j < e.rows(); ++j) {
      if (j == i) continue;
      const double dd = (e.row(i) - e.row(j)).cast<double>().squaredNorm();
      if (dd < best) {
        best = dd;
        arg = j;
      }
    }
    agree += y[static_cast<size_t>(i)] == y[static_cast<size_t>(arg)];
  }
  return static_cast<double>(agree) / static_cast<double>(e.rows());
}

double diagonal(const RowMatrixF& e) { return (e.colwise().maxCoeff() - e.colwise().minCoeff()).cast<double>().norm(); }

UmapOptions fast_options() {
  UmapOptions o;
  o.n_epochs = 200;  // plenty for 200 points, keeps the sanitizer build quick
  return o;
}

// Spearman rank correlation.
double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<size_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < idx.size(); ++i) r[idx[i]] = static_cast<double>(i);
    return r;
  };
  const auto ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  double d2 = 0;
  for (size_t i = 0; i < a.size(); ++i) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  return 1.0 - 6.0 * d2 / (n * (n * n - 1.0));
}

}  // namespace

TEST(Umap, FitAbMatchesUmapLearnValues) {
  const auto [a, b] = fit_ab(1.0f, 0.1f);
  EXPECT_NEAR(a, 1.577f, 1e-2);
  EXPECT_NEAR(b, 0.895f, 1e-2);
  // Whatever the parameters, the fitted curve must track its target: 1 below min_dist, then
  // exp(-(x - min_dist)/spread).
  const auto [a2, b2] = fit_ab(2.0f, 0.5f);
  for (double x : {0.2, 1.0, 2.0, 4.0}) {
    const double target = x < 0.5 ? 1.0 : std::exp(-(x - 0.5) / 2.0);
    EXPECT_NEAR(1.0 / (1.0 + a2 * std::pow(x, 2.0 * b2)), target, 0.1) << "x=" << x;
  }
}

TEST(Umap, SmoothKnnSolvesTheCalibrationEquation) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(0.5f, 3.0f);
  const int k = 10;
  RowMatrixF d(20, k);
  for (Eigen::Index i = 0; i < d.rows(); ++i) {
    std::vector<float> row(k);
    row[0] = 0.0f;  // the point itself
    for (int j = 1; j < k; ++j) row[static_cast<size_t>(j)] = u(rng);
    std::sort(row.begin(), row.end());
    for (int j = 0; j < k; ++j) d(i, j) = row[static_cast<size_t>(j)];
  }
  const SmoothKnn sk = smooth_knn_dist(d, static_cast<float>(k), 1.0f);
  for (Eigen::Index i = 0; i < d.rows(); ++i) {
    const double rho = sk.rho[static_cast<size_t>(i)], sigma = sk.sigma[static_cast<size_t>(i)];
    EXPECT_FLOAT_EQ(static_cast<float>(rho), d(i, 1));  // first non-zero distance
    double psum = 0;
    for (int j = 1; j < k; ++j) psum += std::exp(-std::max(0.0, d(i, j) - rho) / sigma);
    EXPECT_NEAR(psum, std::log2(static_cast<double>(k)), 1e-3);
  }
}

TEST(Umap, SeparatedBlobsStaySeparated) {
  const Blobs b = blobs(4, 50, 20, 12.0f, 1);
  const UmapModel m = umap_fit(b.x, fast_options());
  ASSERT_EQ(m.embedding.rows(), 200);
  ASSERT_EQ(m.embedding.cols(), 2);
  ASSERT_TRUE(m.embedding.allFinite());
  EXPECT_GE(one_nn_agreement(m.embedding, b.y), 0.95);
}

TEST(Umap, SeededRunsAreBitIdenticalAndSeedsMatter) {
  const Blobs b = blobs(3, 40, 10, 4.0f, 2);  // overlapping enough to give one connected graph
  UmapOptions o = fast_options();
  const UmapModel m1 = umap_fit(b.x, o);
  const UmapModel m2 = umap_fit(b.x, o);
  EXPECT_EQ(m1.embedding, m2.embedding);
  o.seed = 7;
  const UmapModel m3 = umap_fit(b.x, o);
  EXPECT_NE(m1.embedding, m3.embedding);
}

TEST(Umap, ThreadCountDoesNotChangeResults) {
  const Blobs b = blobs(3, 40, 10, 4.0f, 3);
  const Blobs q = blobs(3, 4, 10, 4.0f, 33);
  UmapOptions o = fast_options();
  o.threads = 1;
  UmapModel m1 = umap_fit(b.x, o);
  o.threads = 2;
  UmapModel m2 = umap_fit(b.x, o);
  EXPECT_EQ(m1.embedding, m2.embedding);
  const RowMatrixF t1 = umap_transform(m1, q.x);
  const RowMatrixF t2 = umap_transform(m2, q.x);
  EXPECT_EQ(t1, t2);
}

TEST(Umap, SpectralInitOrdersAChain) {
  // Points along a line (plus small noise): the Laplacian's first non-trivial eigenvector (the
  // Fiedler vector) is monotone along the chain, so the init (n_epochs = 0) must be too.
  // 150 points takes the sparse Lanczos route, 60 the dense one.
  for (int n : {150, 60}) {
    std::mt19937_64 rng(11);
    std::normal_distribution<float> g(0.0f, 0.01f);
    RowMatrixF x(n, 3);
    std::vector<double> t(static_cast<size_t>(n)), e0(static_cast<size_t>(n));
    // Shuffled order, so the result cannot come from the index order.
    std::vector<int> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int i = 0; i < n; ++i) {
      t[static_cast<size_t>(i)] = perm[static_cast<size_t>(i)];
      x(i, 0) = static_cast<float>(perm[static_cast<size_t>(i)]) * 0.1f + g(rng);
      x(i, 1) = g(rng);
      x(i, 2) = g(rng);
    }
    UmapOptions o;
    o.n_neighbors = 10;
    o.n_epochs = 0;
    const UmapModel m = umap_fit(x, o);
    for (int i = 0; i < n; ++i) e0[static_cast<size_t>(i)] = m.embedding(i, 0);
    EXPECT_GT(std::fabs(spearman(t, e0)), 0.98) << "n=" << n;
    // The init is scaled to the [0, 10] box, as umap-learn's.
    EXPECT_NEAR(m.embedding.col(0).minCoeff(), 0.0f, 1e-4f);
    EXPECT_NEAR(m.embedding.col(0).maxCoeff(), 10.0f, 1e-4f);
  }
}

TEST(Umap, TransformOfTrainingPointLandsNearItsFittedPosition) {
  const Blobs b = blobs(4, 50, 20, 12.0f, 4);
  const UmapModel m = umap_fit(b.x, fast_options());
  const double spread = diagonal(m.embedding);
  const RowMatrixF t = umap_transform(m, b.x.topRows(40));
  std::vector<double> dist;
  for (Eigen::Index i = 0; i < t.rows(); ++i) dist.push_back((t.row(i) - m.embedding.row(i)).cast<double>().norm());
  std::sort(dist.begin(), dist.end());
  EXPECT_LT(dist[dist.size() / 2], 0.05 * spread);  // median
  EXPECT_LT(dist.back(), 0.15 * spread);            // worst: still inside its own cluster's area
}

TEST(Umap, TransformPlacesNewPointsWithTheirBlob) {
  const Blobs b = blobs(4, 50, 20, 12.0f, 5);
  const Blobs q = blobs(4, 5, 20, 12.0f, 55);
  const UmapModel m = umap_fit(b.x, fast_options());
  const RowMatrixF t = umap_transform(m, q.x);
  int agree = 0;
  for (Eigen::Index i = 0; i < t.rows(); ++i) {
    Eigen::Index arg = 0;
    (m.embedding.rowwise() - t.row(i)).rowwise().squaredNorm().minCoeff(&arg);
    agree += b.y[static_cast<size_t>(arg)] == q.y[static_cast<size_t>(i)];
  }
  EXPECT_GE(agree, 19);
}

TEST(Umap, TransformIsIndependentOfTheBatch) {
  const Blobs b = blobs(3, 40, 10, 4.0f, 6);
  const Blobs q = blobs(3, 4, 10, 4.0f, 66);
  const UmapModel m = umap_fit(b.x, fast_options());
  const RowMatrixF batch = umap_transform(m, q.x);
  for (Eigen::Index i = 0; i < q.x.rows(); ++i) {
    const RowMatrixF alone = umap_transform(m, q.x.middleRows(i, 1));
    EXPECT_EQ(alone.row(0), batch.row(i)) << "row " << i;
  }
  // Reordering the batch only reorders the output.
  RowMatrixF rev = q.x.colwise().reverse();
  const RowMatrixF batch_rev = umap_transform(m, rev);
  EXPECT_EQ(batch_rev, batch.colwise().reverse().eval());
}

TEST(Umap, TransformWithCallerKnnMatchesInternalSearch) {
  const Blobs b = blobs(3, 40, 10, 4.0f, 7);
  const Blobs q = blobs(3, 3, 10, 4.0f, 77);
  const UmapModel m = umap_fit(b.x, fast_options());
  const KnnResult knn = exact_knn(q.x, b.x, m.options.n_neighbors);
  const RowMatrixF mine = umap_transform(m, q.x);
  const RowMatrixF given = umap_transform(m, q.x, knn);
  // Same neighbours; distances agree to float rounding, so the placements agree closely.
  EXPECT_LT((mine - given).cwiseAbs().maxCoeff(), 1e-2 * diagonal(m.embedding));
}

TEST(Umap, FitFromAGivenKnnEqualsTheFitThatSearchesItself) {
  // Byte-valued rows (pixels): squared distances are exact integers both in the fit's own float
  // search and in the exact Gram matrix, so the two graphs and the two fits are the same.
  Blobs b = blobs(3, 50, 16, 4.0f, 11);
  b.x = (b.x * 20.f).array().round().cwiseMax(-128.f).cwiseMin(127.f) + 128.f;
  const UmapOptions o = fast_options();
  const KnnResult knn = exact_knn_gram(gram_matrix(b.x), o.n_neighbors - 1, /*exclude_self=*/true, 1);
  const UmapModel own = umap_fit(b.x, o);
  const UmapModel given = umap_fit(b.x, o, knn);
  ASSERT_EQ(given.embedding.rows(), b.x.rows());
  EXPECT_EQ(given.embedding, own.embedding);
  EXPECT_EQ(given.data, b.x);  // kept for transform
  KnnResult short_rows = knn;
  short_rows.indices.conservativeResize(knn.indices.rows() - 1, Eigen::NoChange);
  EXPECT_THROW(umap_fit(b.x, o, short_rows), std::invalid_argument);
  KnnResult outside = knn;
  outside.indices(3, 2) = static_cast<int32_t>(b.x.rows());
  EXPECT_THROW(umap_fit(b.x, o, outside), std::invalid_argument);
}

TEST(Umap, EightComponents) {
  const Blobs b = blobs(4, 50, 20, 12.0f, 8);
  UmapOptions o = fast_options();
  o.n_components = 8;
  const UmapModel m = umap_fit(b.x, o);
  ASSERT_EQ(m.embedding.cols(), 8);
  ASSERT_TRUE(m.embedding.allFinite());
  EXPECT_GE(one_nn_agreement(m.embedding, b.y), 0.95);
  const RowMatrixF t = umap_transform(m, b.x.topRows(3));
  EXPECT_EQ(t.cols(), 8);
  EXPECT_TRUE(t.allFinite());
}

TEST(Umap, DisconnectedGraphKeepsGroupsApart) {
  // Two groups 1000 units apart: no kNN edge crosses, so the graph has two components.
  Blobs b = blobs(1, 30, 5, 0.0f, 9);
  const Blobs far = blobs(1, 30, 5, 0.0f, 10);
  b.x.conservativeResize(60, 5);
  b.x.bottomRows(30) = far.x.array() + 1000.0f;
  b.y.assign(60, 0);
  std::fill(b.y.begin() + 30, b.y.end(), 1);
  const UmapModel m = umap_fit(b.x, fast_options());
  ASSERT_TRUE(m.embedding.allFinite());
  EXPECT_EQ(one_nn_agreement(m.embedding, b.y), 1.0);
  // Each group is tighter than the gap between the groups.
  const Eigen::RowVector2f c0 = m.embedding.topRows(30).colwise().mean();
  const Eigen::RowVector2f c1 = m.embedding.bottomRows(30).colwise().mean();
  const float r0 = (m.embedding.topRows(30).rowwise() - c0).rowwise().norm().maxCoeff();
  const float r1 = (m.embedding.bottomRows(30).rowwise() - c1).rowwise().norm().maxCoeff();
  EXPECT_GT((c0 - c1).norm(), r0 + r1);
}

TEST(Umap, DuplicatePointsDoNotBreakTheFit) {
  Blobs b = blobs(2, 30, 6, 8.0f, 12);
  b.x.row(1) = b.x.row(0);
  b.x.row(2) = b.x.row(0);
  const UmapModel m = umap_fit(b.x, fast_options());
  EXPECT_TRUE(m.embedding.allFinite());
  EXPECT_GE(one_nn_agreement(m.embedding, b.y), 0.95);
}

TEST(Umap, RejectsBadInput) {
  const Blobs b = blobs(2, 10, 4, 5.0f, 13);
  UmapOptions o;
  o.n_neighbors = 20;  // n == n_neighbors
  EXPECT_THROW(umap_fit(b.x, o), std::invalid_argument);
  o.n_neighbors = 30;
  EXPECT_THROW(umap_fit(b.x, o), std::invalid_argument);
  RowMatrixF nan = b.x;
  nan(3, 2) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(umap_fit(nan, UmapOptions{}), std::invalid_argument);
  UmapOptions bad;
  bad.min_dist = 2.0f;  // > spread
  EXPECT_THROW(umap_fit(b.x, bad), std::invalid_argument);
  bad = {};
  bad.n_neighbors = 1;
  EXPECT_THROW(umap_fit(b.x, bad), std::invalid_argument);
  bad = {};
  bad.set_op_mix_ratio = 1.5f;
  EXPECT_THROW(umap_fit(b.x, bad), std::invalid_argument);

  UmapOptions ok;
  ok.n_neighbors = 5;
  ok.n_epochs = 20;
  const UmapModel m = umap_fit(b.x, ok);
  EXPECT_THROW(umap_transform(m, RowMatrixF::Zero(2, 5)), std::invalid_argument);  // wrong width
  RowMatrixF qn = b.x.topRows(2);
  qn(1, 0) = std::numeric_limits<float>::infinity();
  EXPECT_THROW(umap_transform(m, qn), std::invalid_argument);
  KnnResult short_knn = exact_knn(b.x.topRows(2), b.x, 3);  // fewer than n_neighbors columns
  EXPECT_THROW(umap_transform(m, b.x.topRows(2), short_knn), std::invalid_argument);
  EXPECT_THROW(umap_transform(UmapModel{}, b.x.topRows(2)), std::invalid_argument);
}
