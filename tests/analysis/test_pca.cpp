#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <random>

#include "nodes/analysis/pca.hpp"

using namespace lumaflow;

namespace {

PcaOptions opts(int k, PcaSolver solver = PcaSolver::Auto, int threads = 0, uint64_t seed = 42) {
  return {.components = k, .seed = seed, .threads = threads, .solver = solver};
}

// n points = offset + Σ_j s_j·z_j·w_j + noise, with orthonormal directions w_j (rows of W).
struct Planted {
  RowMatrixF x;
  Eigen::MatrixXd w;  // r×d
};

Planted planted(int n, int d, const std::vector<double>& scales, double noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  const auto r = static_cast<Eigen::Index>(scales.size());
  Eigen::MatrixXd raw(d, r);
  for (Eigen::Index i = 0; i < raw.size(); ++i) raw.data()[i] = g(rng);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(raw);
  const Eigen::MatrixXd w = (qr.householderQ() * Eigen::MatrixXd::Identity(d, r)).transpose();
  Eigen::RowVectorXd offset(d);
  for (int k = 0; k < d; ++k) offset(k) = 0.5 + 0.1 * g(rng);
  RowMatrixD x(n, d);
  for (int i = 0; i < n; ++i) {
    Eigen::RowVectorXd row = offset;
    for (Eigen::Index j = 0; j < r; ++j) row += scales[static_cast<size_t>(j)] * g(rng) * w.row(j);
    for (int k = 0; k < d; ++k) row(k) += noise * g(rng);
    x.row(i) = row;
  }
  return {x.cast<float>(), w};
}

// Reference: eigen-decomposition of the double-precision sample covariance.
struct Reference {
  Eigen::VectorXd values;   // descending
  Eigen::MatrixXd vectors;  // columns, same order
  double trace;
};

Reference reference_pca(const RowMatrixF& x) {
  const RowMatrixD xd = x.cast<double>();
  const RowMatrixD xc = xd.rowwise() - xd.colwise().mean();
  const Eigen::MatrixXd cov = xc.transpose() * xc / static_cast<double>(x.rows() - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
  return {es.eigenvalues().reverse(), es.eigenvectors().rowwise().reverse(), cov.trace()};
}

double max_orthonormality_error(const RowMatrixF& c) {
  const Eigen::MatrixXd g = c.cast<double>() * c.cast<double>().transpose();
  return (g - Eigen::MatrixXd::Identity(g.rows(), g.cols())).cwiseAbs().maxCoeff();
}

}  // namespace

TEST(Pca, RecoversPlantedLowRankStructure) {
  const Planted p = planted(100, 200, {8.0, 4.0, 2.0}, 0.01, 1);
  const Reference ref = reference_pca(p.x);
  for (PcaSolver s : {PcaSolver::Exact, PcaSolver::Randomized}) {
    const PcaModel m = fit_pca(p.x, opts(3, s));
    ASSERT_EQ(m.size(), 3);
    ASSERT_EQ(m.dims(), 200);
    for (int j = 0; j < 3; ++j) {
      // Each axis lies in the planted subspace and equals the reference axis up to sign.
      const Eigen::VectorXd v = m.components.row(j).transpose().cast<double>();
      EXPECT_GT((p.w * v).norm(), 0.999) << "axis " << j;
      EXPECT_GT(std::abs(v.dot(ref.vectors.col(j))), 0.99999) << "axis " << j;
      EXPECT_NEAR(m.explained_variance(j), ref.values(j), 1e-4 * ref.values(j)) << "axis " << j;
    }
    EXPECT_GT(m.explained_variance(0), m.explained_variance(1));
    EXPECT_GT(m.explained_variance(1), m.explained_variance(2));
    EXPECT_NEAR(m.total_variance, ref.trace, 1e-5 * ref.trace);
    const Eigen::RowVectorXd mean = p.x.cast<double>().colwise().mean();
    EXPECT_LT((m.mean.cast<double>().transpose() - mean).cwiseAbs().maxCoeff(), 1e-6);
  }
}

TEST(Pca, ComponentsAreOrthonormalAndSignFixed) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u;
  RowMatrixF x(60, 200);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = u(rng);
  for (PcaSolver s : {PcaSolver::Exact, PcaSolver::Randomized}) {
    const PcaModel m = fit_pca(x, opts(20, s));
    ASSERT_EQ(m.components.rows(), 20);
    EXPECT_LT(max_orthonormality_error(m.components), 1e-5);
    for (int j = 0; j < 20; ++j) {
      Eigen::Index arg = 0;
      m.components.row(j).cwiseAbs().maxCoeff(&arg);
      EXPECT_GT(m.components(j, arg), 0.f);
      if (j > 0) {
        EXPECT_LE(m.explained_variance(j), m.explained_variance(j - 1));
      }
    }
  }
}

TEST(Pca, RoundTripOnRankKData) {
  const Planted p = planted(50, 120, {5.0, 3.0, 2.0, 1.0}, 0.0, 9);
  const PcaModel m = fit_pca(p.x, opts(4));
  const RowMatrixF z = m.transform(p.x);
  ASSERT_EQ(z.rows(), 50);
  ASSERT_EQ(z.cols(), 4);
  EXPECT_LT((m.inverse_transform(z) - p.x).cwiseAbs().maxCoeff(), 1e-4);
  const RowMatrixF zw = m.transform(p.x, true);
  EXPECT_LT((m.inverse_transform(zw, true) - p.x).cwiseAbs().maxCoeff(), 1e-4);
  // Whitened scores have unit sample variance and the plain ones have the explained variance.
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(zw.col(j).cast<double>().squaredNorm() / 49.0, 1.0, 1e-4);
    EXPECT_NEAR(z.col(j).cast<double>().squaredNorm() / 49.0, m.explained_variance(j), 1e-4 * m.explained_variance(j));
  }
  EXPECT_THROW(m.transform(RowMatrixF::Zero(2, 7)), std::invalid_argument);
  EXPECT_THROW(m.inverse_transform(RowMatrixF::Zero(2, 7)), std::invalid_argument);
}

TEST(Pca, BothSolversAgree) {
  // Decaying spectrum, Gram path (n < d) and covariance path (n > d).
  for (auto [n, d] : {std::pair{80, 250}, std::pair{300, 40}}) {
    std::vector<double> scales;
    for (int j = 0; j < 12; ++j) scales.push_back(10.0 * std::pow(0.7, j));
    const Planted p = planted(n, d, scales, 0.05, 17);
    const PcaModel a = fit_pca(p.x, opts(6, PcaSolver::Exact));
    const PcaModel b = fit_pca(p.x, opts(6, PcaSolver::Randomized));
    const Reference ref = reference_pca(p.x);
    for (int j = 0; j < 6; ++j) {
      EXPECT_GT(a.components.row(j).cast<double>().dot(b.components.row(j).cast<double>()), 0.9999)
          << n << " axis " << j;
      EXPECT_NEAR(a.explained_variance(j), b.explained_variance(j), 1e-4 * a.explained_variance(j));
      EXPECT_NEAR(a.explained_variance(j), ref.values(j), 1e-4 * ref.values(j));
    }
  }
}

TEST(Pca, DeterministicForSeedAndThreads) {
  const Planted p = planted(200, 300, {6.0, 5.0, 4.0, 3.0}, 0.3, 4);
  for (PcaSolver s : {PcaSolver::Exact, PcaSolver::Randomized}) {
    const PcaModel a = fit_pca(p.x, opts(8, s, 1));
    const PcaModel b = fit_pca(p.x, opts(8, s, 3));
    const PcaModel c = fit_pca(p.x, opts(8, s, 2));
    EXPECT_TRUE(a.components == b.components);
    EXPECT_TRUE(a.explained_variance == b.explained_variance);
    EXPECT_TRUE(a.components == c.components);
    EXPECT_TRUE(a.mean == b.mean);
  }
}

// Byte rows read through a RowSource (as a store's mapped pixels are) give the very model the
// same values as one float matrix give: same tiles, same sums, bit for bit; and so do subsets.
TEST(Pca, StreamedRowsGiveTheSameModelAsTheMatrix) {
  const int n = 1200, d = 300;  // n > 1000: the randomized solver; min(n, d) ≤ 1000 for exact
  std::mt19937 rng(9);
  std::vector<uint8_t> bytes(static_cast<size_t>(n) * d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j)
      bytes[static_cast<size_t>(i) * d + j] = static_cast<uint8_t>((i % 13) * 9 + (j % 17) * 5 + rng() % 40);
  RowMatrixF x(n, d);
  for (size_t i = 0; i < bytes.size(); ++i) x.data()[i] = static_cast<float>(bytes[i]) * (1.0f / 255.0f);
  const RowSource rows(n, d, [&](Eigen::Index r, Eigen::Index c, Eigen::Index count, float* out) {
    for (Eigen::Index j = 0; j < count; ++j)
      out[j] = static_cast<float>(bytes[static_cast<size_t>(r * d + c + j)]) * (1.0f / 255.0f);
  });
  for (PcaSolver solver : {PcaSolver::Randomized, PcaSolver::Exact}) {
    const PcaModel a = fit_pca(x, opts(12, solver, 2));
    const PcaModel b = fit_pca(rows, opts(12, solver, 2));
    EXPECT_TRUE(a.mean == b.mean);
    EXPECT_TRUE(a.components == b.components);
    EXPECT_TRUE(a.explained_variance == b.explained_variance);
    EXPECT_EQ(a.total_variance, b.total_variance);
    EXPECT_TRUE(a.transform(x, true) == b.transform(rows, true));
  }
  std::vector<int> idx;
  for (int i = 0; i < n; i += 3) idx.push_back(i);
  RowMatrixF sub(static_cast<Eigen::Index>(idx.size()), d);
  for (size_t i = 0; i < idx.size(); ++i) sub.row(static_cast<Eigen::Index>(i)) = x.row(idx[i]);
  const PcaModel a = fit_pca(sub, opts(8));
  const PcaModel b = fit_pca(rows.subset(idx), opts(8));
  EXPECT_TRUE(a.components == b.components);
  EXPECT_TRUE(a.transform(sub) == b.transform(rows.subset(idx)));
}

// With the Gram matrix attached the randomized solver iterates on the centred Gram: against the
// double-precision reference it finds the same axes and variances as the row solver does, for
// the whole set and for a subset (the subset's Gram is read from the full one).
TEST(Pca, GramMatrixGivesTheReferenceAxes) {
  const int n = 300, d = 700, k = 6;
  const Planted p = planted(n, d, {9, 7, 5, 4, 3, 2.5}, 0.05, 17);
  const Eigen::MatrixXd g = gram_matrix(p.x);
  const RowSource rows = RowSource(p.x).with_gram(g);
  ASSERT_TRUE(rows.has_gram());
  std::vector<int> idx;
  for (int i = 0; i < n; ++i)
    if (i % 4 != 1) idx.push_back(i);
  RowMatrixF sub(static_cast<Eigen::Index>(idx.size()), d);
  for (size_t i = 0; i < idx.size(); ++i) sub.row(static_cast<Eigen::Index>(i)) = p.x.row(idx[i]);
  for (const bool subset : {false, true}) {
    const RowMatrixF& x = subset ? sub : p.x;
    const RowSource src = subset ? rows.subset(idx) : rows;
    ASSERT_TRUE(src.has_gram());
    const PcaModel viag = fit_pca(src, opts(k, PcaSolver::Randomized, 2));
    const PcaModel viarows = fit_pca(RowSource(x), opts(k, PcaSolver::Randomized, 2));
    const Reference ref = reference_pca(x);
    ASSERT_EQ(viag.size(), k);
    EXPECT_LT(max_orthonormality_error(viag.components), 1e-5);
    EXPECT_NEAR(viag.total_variance, ref.trace, 1e-4 * ref.trace);
    EXPECT_NEAR(viag.total_variance, viarows.total_variance, 1e-4 * ref.trace);
    EXPECT_TRUE(viag.mean.isApprox(viarows.mean, 1e-6f));
    for (int j = 0; j < k; ++j) {
      EXPECT_NEAR(viag.explained_variance(j), ref.values(j), 1e-3 * ref.values(j)) << "axis " << j;
      const double cos = std::abs(viag.components.row(j).cast<double>().dot(ref.vectors.col(j)));
      EXPECT_GT(cos, 0.9999) << "axis " << j;
      EXPECT_GT(std::abs(viag.components.row(j).dot(viarows.components.row(j))), 0.9999f) << "axis " << j;
    }
    // Deterministic, and independent of the thread count.
    const PcaModel again = fit_pca(src, opts(k, PcaSolver::Randomized, 1));
    EXPECT_TRUE(again.components == viag.components);
    EXPECT_TRUE(again.explained_variance == viag.explained_variance);
  }
  EXPECT_THROW(RowSource(p.x.topRows(10)).with_gram(g), std::invalid_argument);
}

TEST(Pca, ClampsComponentsAndValidates) {
  RowMatrixF x(5, 3);
  x << 0, 0, 1, 1, 0, 0, 0, 2, 0, 3, 1, 1, 2, 2, 2;
  EXPECT_EQ(fit_pca(x, opts(10)).size(), 3);             // d = 3
  EXPECT_EQ(fit_pca(x.topRows(3), opts(10)).size(), 2);  // n − 1 = 2
  const PcaModel full = fit_pca(x, opts(3));
  const Reference ref = reference_pca(x);
  EXPECT_NEAR(full.explained_variance.sum(), ref.trace, 1e-5);  // all axes: all the variance
  EXPECT_NEAR(full.total_variance, ref.trace, 1e-5);
  EXPECT_THROW(fit_pca(x.topRows(1), opts(1)), std::invalid_argument);
  EXPECT_THROW(fit_pca(x, opts(0)), std::invalid_argument);
}

// The (k+1)-d coordinates must reproduce every inner product of the d-dimensional
// reconstructions z·components + mean — hence their norms and L2-normalised distances, which
// is what DBSCAN past raw_max relies on. Data far from the origin, as pixel vectors are.
TEST(Pca, ReconstructionCoordinatesKeepInnerProducts) {
  const Planted p = planted(120, 300, {5.0, 3.0, 2.0, 1.0}, 0.05, 9);
  RowMatrixF x = p.x;
  x.array() += 4.0f;
  const PcaModel m = fit_pca(x, opts(6));
  const RowMatrixF z = m.transform(x);
  const RowMatrixF c = reconstruction_coordinates(m, z);
  ASSERT_EQ(c.rows(), 120);
  ASSERT_EQ(c.cols(), 7);
  const RowMatrixD full = m.inverse_transform(z).cast<double>();
  const Eigen::MatrixXd want = full * full.transpose();
  const Eigen::MatrixXd got = c.cast<double>() * c.cast<double>().transpose();
  EXPECT_LT((got - want).cwiseAbs().maxCoeff(), 1e-4 * want.cwiseAbs().maxCoeff());
  EXPECT_GT(want.cwiseAbs().maxCoeff(), 1000.0);  // the mean dominates: the check is not vacuous
  EXPECT_THROW(reconstruction_coordinates(m, RowMatrixF::Zero(3, 5)), std::invalid_argument);
}

namespace lumaflow {
namespace {

// Byte rows (value / 255), as pixel vectors are.
RowMatrixF byte_rows(Eigen::Index n, Eigen::Index d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  RowMatrixF x(n, d);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng() % 256) / 255.f;
  return x;
}

double max_distance_error(const RowMatrixF& a, const RowMatrixF& b) {
  double worst = 0;
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < i; ++j) {
      const double da = (a.row(i).cast<double>() - a.row(j).cast<double>()).norm();
      const double db = (b.row(i).cast<double>() - b.row(j).cast<double>()).norm();
      worst = std::max(worst, std::abs(da - db));
    }
  return worst;
}

TEST(GramMatrix, ByteRowsAreMultipliedExactly) {
  const RowMatrixF x = byte_rows(7, 1000, 3);  // four column blocks, the last one partial
  const Eigen::MatrixXd g = gram_matrix(x);
  for (Eigen::Index i = 0; i < 7; ++i)
    for (Eigen::Index j = 0; j < 7; ++j) {
      int64_t dot = 0;
      for (Eigen::Index c = 0; c < x.cols(); ++c) dot += std::lround(x(i, c) * 255.f) * std::lround(x(j, c) * 255.f);
      EXPECT_EQ(std::llround(g(i, j) * 255.0 * 255.0), dot) << i << "," << j;
    }
  // Past one tile of rows (256), the last one partial: still exact, symmetric, every tile filled.
  const RowMatrixF big = byte_rows(600, 300, 4);
  const Eigen::MatrixXd gb = gram_matrix(big);
  EXPECT_TRUE(gb.isApprox(gb.transpose(), 0.0));
  for (Eigen::Index i = 0; i < 600; i += 37)
    for (Eigen::Index j = 0; j < 600; j += 41) {
      int64_t dot = 0;
      for (Eigen::Index c = 0; c < big.cols(); ++c)
        dot += std::lround(big(i, c) * 255.f) * std::lround(big(j, c) * 255.f);
      EXPECT_EQ(std::llround(gb(i, j) * 255.0 * 255.0), dot) << i << "," << j;
    }
  EXPECT_EQ(std::llround(gb(599, 0) * 255.0 * 255.0), std::llround(gb(0, 599) * 255.0 * 255.0));
  EXPECT_GT(gb(599, 599), 0.0);
}

TEST(SpanCoordinates, KeepEveryDistanceInNDimensions) {
  const RowMatrixF x = byte_rows(60, 2000, 5);
  const RowMatrixF z = span_coordinates(x);
  EXPECT_EQ(z.rows(), 60);
  EXPECT_LE(z.cols(), 60);
  EXPECT_LT(max_distance_error(x, z), 1e-4);
  EXPECT_LT(z.colwise().mean().cwiseAbs().maxCoeff(), 1e-4) << "centred";
}

TEST(SpanCoordinates, RepeatedAndNearlyRepeatedRowsKeepTheirDistances) {
  RowMatrixF x = byte_rows(40, 3000, 9);
  x.row(10) = x.row(3);  // a repeated face: the Gram matrix is singular
  x.row(20) = x.row(3);
  x.row(30) = x.row(4);
  x(30, 7) = std::min(1.f, x(30, 7) + 1.f / 255.f);  // a near-duplicate: one byte apart
  const RowMatrixF z = span_coordinates(x);
  EXPECT_LT(max_distance_error(x, z), 1e-4);
  EXPECT_NEAR((z.row(10) - z.row(3)).norm(), 0.0, 1e-4);
  EXPECT_NEAR((z.row(30) - z.row(4)).norm(), (x.row(30) - x.row(4)).norm(), 1e-4);
}

}  // namespace
}  // namespace lumaflow
