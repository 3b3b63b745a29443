#include "nodes/analysis/pca.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "nodes/core/parallel.hpp"
#include "nodes/core/random.hpp"

namespace lumaflow {
namespace {

using MatrixD = Eigen::MatrixXd;
using MatrixF = Eigen::MatrixXf;  // column-major: the solvers' n×l and d×l panels

// Above this min(n, d) the exact solver loses to the randomized passes: measured at d = 16384,
// k = 50 on 2 cores, n = 2000 costs ~8 s in the O(n³) dense eigen-solve alone against ~3 s for
// the whole randomized fit; at n = 1000 the two are about even.
constexpr Eigen::Index kExactMax = 1000;
// Fixed tile sizes: the GEMM shapes (hence their rounding) never depend on the thread count.
constexpr Eigen::Index kTileRows = 256;
constexpr Eigen::Index kTileCols = 512;

Eigen::Index tiles(Eigen::Index n, Eigen::Index t) { return (n + t - 1) / t; }

// Orthonormal basis of the columns of a (tall) panel, computed in double.
MatrixF orthonormalize(const MatrixF& y) {
  const MatrixD yd = y.cast<double>();
  Eigen::HouseholderQR<MatrixD> qr(yd);
  const MatrixD q = qr.householderQ() * MatrixD::Identity(yd.rows(), yd.cols());
  return q.cast<float>();
}

// Column tiles hold every row: past this many floats a tile gets fewer columns (in steps of 16),
// so a streamed store of 100,000+ faces keeps a tile near 256 MB. Up to 131,072 rows the width is
// kTileCols, the shape the in-memory sets have always had.
constexpr Eigen::Index kMaxTileFloats = Eigen::Index{1} << 26;

Eigen::Index column_tile(Eigen::Index n) {
  if (n * kTileCols <= kMaxTileFloats) return kTileCols;
  return std::max<Eigen::Index>(16, kMaxTileFloats / n / 16 * 16);
}

// Xc·M (n×l) with Xc = x − 1·meanᵀ formed one row tile at a time.
MatrixF centered_times(const RowSource& x, const VectorF& mean, const MatrixF& m, int threads) {
  const Eigen::Index n = x.rows();
  MatrixF out(n, m.cols());
  parallel_for(tiles(n, kTileRows), threads, [&](std::ptrdiff_t t) {
    const Eigen::Index r0 = t * kTileRows, rows = std::min(kTileRows, n - r0);
    RowMatrixF tile = x.row_block(r0, rows);
    tile.rowwise() -= mean.transpose();
    out.middleRows(r0, rows).noalias() = tile * m;
  });
  return out;
}

// Xcᵀ·Q (d×l), one column tile of Xc (all rows) at a time.
MatrixF centered_transpose_times(const RowSource& x, const VectorF& mean, const MatrixF& q, int threads) {
  const Eigen::Index n = x.rows(), d = x.cols(), width = column_tile(n);
  MatrixF out(d, q.cols());
  parallel_for(tiles(d, width), threads, [&](std::ptrdiff_t t) {
    const Eigen::Index c0 = t * width, cols = std::min(width, d - c0);
    const MatrixF tile = x.block(0, n, c0, cols).rowwise() - mean.segment(c0, cols).transpose();
    out.middleRows(c0, cols).noalias() = tile.transpose() * q;
  });
  return out;
}

// Candidate axes (columns, d×l, not yet ordered) from Halko et al.'s randomized range finder.
MatrixD randomized_axes(const RowSource& x, const VectorF& mean, Eigen::Index l, const PcaOptions& opt) {
  const Eigen::Index d = x.cols();
  GaussianMt64 gauss(opt.seed, GaussianMt64::ZeroGuard::kCellCentre);
  MatrixF omega(d, l);
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = 0; j < l; ++j) omega(i, j) = static_cast<float>(gauss());
  MatrixF q = orthonormalize(centered_times(x, mean, omega, opt.threads));
  for (int it = 0; it < opt.power_iters; ++it) {
    // Re-orthonormalising both half-steps keeps the small directions from drowning in rounding.
    const MatrixF z = orthonormalize(centered_transpose_times(x, mean, q, opt.threads));
    q = orthonormalize(centered_times(x, mean, z, opt.threads));
  }
  // B = Qᵀ·Xc; with Bᵀ = Q2·R and R = U·S·Vᵀ, B's right singular vectors are the columns of Q2·U.
  const MatrixD bt = centered_transpose_times(x, mean, q, opt.threads).cast<double>();
  Eigen::HouseholderQR<MatrixD> qr(bt);
  const MatrixD q2 = qr.householderQ() * MatrixD::Identity(d, l);
  const MatrixD r = qr.matrixQR().topRows(l).triangularView<Eigen::Upper>();
  Eigen::JacobiSVD<MatrixD> svd(r, Eigen::ComputeFullU);
  return q2 * svd.matrixU();  // singular values descending
}

// Top-k eigenvectors (descending) of a symmetric matrix stored in its lower triangle.
MatrixD top_eigenvectors(const MatrixD& sym, Eigen::Index k) {
  Eigen::SelfAdjointEigenSolver<MatrixD> es(sym);
  if (es.info() != Eigen::Success) throw std::runtime_error("fit_pca: eigen-solver did not converge");
  return es.eigenvectors().rightCols(k).rowwise().reverse();
}

// Candidate axes (columns, d×k) from an exact eigen-solve of Xc·Xcᵀ or Xcᵀ·Xc.
MatrixD exact_axes(const RowSource& x, const VectorF& mean, Eigen::Index k, int threads) {
  const Eigen::Index n = x.rows(), d = x.cols();
  RowMatrixF xc = x.matrix();  // min(n, d) ≤ 1000 here: at most 1000 × d or n × 1000 floats
  xc.rowwise() -= mean.transpose();
  if (n <= d) {
    // Gram matrix, lower triangle by row blocks; block b costs ∝ b, so pair first with last.
    MatrixD gram = MatrixD::Zero(n, n);
    const Eigen::Index nb = tiles(n, kTileRows);
    std::vector<Eigen::Index> order;
    for (Eigen::Index lo = 0, hi = nb - 1; lo <= hi; ++lo, --hi) {
      order.push_back(hi);
      if (lo != hi) order.push_back(lo);
    }
    parallel_for(nb, threads, [&](std::ptrdiff_t t) {
      const Eigen::Index r0 = order[static_cast<size_t>(t)] * kTileRows, rows = std::min(kTileRows, n - r0);
      const MatrixF g = xc.middleRows(r0, rows) * xc.topRows(r0 + rows).transpose();
      gram.block(r0, 0, rows, r0 + rows) = g.cast<double>();
    });
    const MatrixD u = top_eigenvectors(gram, k);
    // Axis j ∝ Xcᵀ·u_j.
    const MatrixF axes = xc.transpose() * u.cast<float>();
    return axes.cast<double>();
  }
  MatrixD cov(d, d);
  parallel_for(tiles(d, kTileCols), threads, [&](std::ptrdiff_t t) {
    const Eigen::Index c0 = t * kTileCols, cols = std::min(kTileCols, d - c0);
    const MatrixF c = xc.transpose() * xc.middleCols(c0, cols);
    cov.middleCols(c0, cols) = c.cast<double>();
  });
  return top_eigenvectors(cov, k);
}

// g·m for a dense n×n g, in row tiles of fixed shape (the result does not depend on threads).
MatrixD tiled_times(const MatrixD& g, const MatrixD& m, int threads) {
  const Eigen::Index n = g.rows();
  MatrixD out(n, m.cols());
  parallel_for(tiles(n, kTileRows), threads, [&](std::ptrdiff_t t) {
    const Eigen::Index r0 = t * kTileRows, rows = std::min(kTileRows, n - r0);
    out.middleRows(r0, rows).noalias() = g.middleRows(r0, rows) * m;
  });
  return out;
}

MatrixD orthonormalize_d(const MatrixD& y) {
  Eigen::HouseholderQR<MatrixD> qr(y);
  return qr.householderQ() * MatrixD::Identity(y.rows(), y.cols());
}

// Candidate axes (columns, d×k) from the exact Gram matrix the source carries, when n ≤ d: the
// top eigenvectors u of the centred Gram Gc = J·G·J (n×n) give the axes Xcᵀ·u. The same
// randomized subspace iteration, but on Gc: a pass costs n²·l instead of n·d·l and reads no
// row; the rows are read once, for Xcᵀ·u. Gc = Xc·Xcᵀ, so each of its passes is worth two of
// the row solver's half-steps: the subspace is at least as accurate. total: trace(Gc) / (n − 1).
MatrixD gram_axes(const RowSource& x, const VectorF& mean, Eigen::Index k, Eigen::Index l, const PcaOptions& opt,
                  double* total) {
  const Eigen::Index n = x.rows();
  MatrixD g = x.gram();
  const Eigen::VectorXd row_mean = g.rowwise().mean();
  const double all_mean = row_mean.mean();
  g.colwise() -= row_mean;
  g.rowwise() -= row_mean.transpose();
  g.array() += all_mean;
  *total = g.trace() / static_cast<double>(n - 1);
  GaussianMt64 gauss(opt.seed, GaussianMt64::ZeroGuard::kCellCentre);
  MatrixD omega(n, l);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < l; ++j) omega(i, j) = gauss();
  MatrixD q = orthonormalize_d(tiled_times(g, omega, opt.threads));
  for (int it = 0; it < opt.power_iters; ++it) q = orthonormalize_d(tiled_times(g, q, opt.threads));
  // Rayleigh–Ritz on span(q): Qᵀ·Gc·Q = W·Λ·Wᵀ, eigenvectors Q·W.
  const MatrixD t = q.transpose() * tiled_times(g, q, opt.threads);
  const MatrixD u = q * top_eigenvectors(t, k);
  return centered_transpose_times(x, mean, u.cast<float>(), opt.threads).cast<double>();
}

}  // namespace

PcaModel fit_pca(const RowSource& x, const PcaOptions& opt) {
  const Eigen::Index n = x.rows(), d = x.cols();
  if (n < 2 || d < 1)
    throw std::invalid_argument("fit_pca: need at least 2 points of dimension >= 1, got " + std::to_string(n) + "×" +
                                std::to_string(d));
  if (opt.components < 1) throw std::invalid_argument("fit_pca: components must be >= 1");
  if (opt.oversample < 0 || opt.power_iters < 0)
    throw std::invalid_argument("fit_pca: oversample and power_iters must be >= 0");
  const Eigen::Index k = std::min<Eigen::Index>({opt.components, n - 1, d});
  const Eigen::Index m = std::min(n, d);
  const Eigen::Index l = std::min<Eigen::Index>(k + opt.oversample, m);

  PcaModel model;
  Eigen::VectorXd mean_d = Eigen::VectorXd::Zero(d);
  for (Eigen::Index r0 = 0; r0 < n; r0 += kTileRows) {
    const RowMatrixF tile = x.row_block(r0, std::min(kTileRows, n - r0));
    for (Eigen::Index i = 0; i < tile.rows(); ++i) mean_d += tile.row(i).transpose().cast<double>();
  }
  mean_d /= static_cast<double>(n);
  model.mean = mean_d.cast<float>();

  PcaSolver solver = opt.solver;
  if (solver == PcaSolver::Auto) solver = (m <= kExactMax || 2 * l >= m) ? PcaSolver::Exact : PcaSolver::Randomized;
  MatrixD axes;
  double total = 0;  // sum of the per-feature sample variances
  if (solver == PcaSolver::Randomized && x.has_gram() && n <= d) {
    axes = gram_axes(x, model.mean, k, l, opt, &total);
  } else {
    for (Eigen::Index r0 = 0; r0 < n; r0 += kTileRows) {
      const RowMatrixF tile = x.row_block(r0, std::min(kTileRows, n - r0));
      for (Eigen::Index i = 0; i < tile.rows(); ++i)
        total += (tile.row(i).cast<double>() - mean_d.transpose()).squaredNorm();
    }
    total /= static_cast<double>(n - 1);
    axes =
        solver == PcaSolver::Exact ? exact_axes(x, model.mean, k, opt.threads) : randomized_axes(x, model.mean, l, opt);
  }
  model.total_variance = static_cast<float>(total);
  axes.conservativeResize(Eigen::NoChange, k);

  // Polish: exact orthonormality in double (keeps each axis's direction in order), then the
  // variance along each axis measured on the data (a Rayleigh quotient, accurate to second order).
  Eigen::HouseholderQR<MatrixD> qr(axes);
  MatrixD basis = qr.householderQ() * MatrixD::Identity(d, k);
  const MatrixF proj = centered_times(x, model.mean, basis.cast<float>(), opt.threads);
  Eigen::VectorXd var(k);
  for (Eigen::Index j = 0; j < k; ++j) var(j) = proj.col(j).cast<double>().squaredNorm() / static_cast<double>(n - 1);
  std::vector<Eigen::Index> order(static_cast<size_t>(k));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return var(a) > var(b); });

  model.components.resize(k, d);
  model.explained_variance.resize(k);
  for (Eigen::Index j = 0; j < k; ++j) {
    Eigen::VectorXd v = basis.col(order[static_cast<size_t>(j)]);
    Eigen::Index arg = 0;
    v.cwiseAbs().maxCoeff(&arg);
    if (v(arg) < 0) v = -v;
    model.components.row(j) = v.transpose().cast<float>();
    model.explained_variance(j) = static_cast<float>(var(order[static_cast<size_t>(j)]));
  }
  return model;
}

RowMatrixF PcaModel::transform(MatrixRefF x, bool whiten) const {
  if (x.cols() != mean.size())
    throw std::invalid_argument("PcaModel::transform: rows have " + std::to_string(x.cols()) + " columns, model has " +
                                std::to_string(mean.size()));
  RowMatrixF out(x.rows(), components.rows());
  for (Eigen::Index r0 = 0; r0 < x.rows(); r0 += kTileRows) {
    const Eigen::Index rows = std::min(kTileRows, x.rows() - r0);
    const RowMatrixF tile = x.middleRows(r0, rows).rowwise() - mean.transpose();
    out.middleRows(r0, rows).noalias() = tile * components.transpose();
  }
  if (whiten)
    for (Eigen::Index j = 0; j < out.cols(); ++j)
      if (explained_variance(j) > 0) out.col(j) /= std::sqrt(explained_variance(j));
  return out;
}

RowMatrixF PcaModel::transform(const RowSource& x, bool whiten) const {
  if (x.cols() != mean.size())
    throw std::invalid_argument("PcaModel::transform: rows have " + std::to_string(x.cols()) + " columns, model has " +
                                std::to_string(mean.size()));
  const Eigen::Index n = x.rows();
  RowMatrixF out(n, components.rows());
  parallel_for(tiles(n, kTileRows), 0, [&](std::ptrdiff_t t) {
    const Eigen::Index r0 = t * kTileRows, rows = std::min(kTileRows, n - r0);
    RowMatrixF tile = x.row_block(r0, rows);
    tile.rowwise() -= mean.transpose();
    out.middleRows(r0, rows).noalias() = tile * components.transpose();
  });
  if (whiten)
    for (Eigen::Index j = 0; j < out.cols(); ++j)
      if (explained_variance(j) > 0) out.col(j) /= std::sqrt(explained_variance(j));
  return out;
}

RowMatrixF PcaModel::inverse_transform(MatrixRefF z, bool whiten) const {
  if (z.cols() != components.rows())
    throw std::invalid_argument("PcaModel::inverse_transform: rows have " + std::to_string(z.cols()) +
                                " columns, model has " + std::to_string(components.rows()) + " components");
  RowMatrixF zz = z;
  if (whiten)
    for (Eigen::Index j = 0; j < zz.cols(); ++j) zz.col(j) *= std::sqrt(std::max(0.f, explained_variance(j)));
  RowMatrixF out = zz * components;
  out.rowwise() += mean.transpose();
  return out;
}

PcaModel identity_basis(MatrixRefF x) {
  if (x.rows() < 2 || x.cols() < 1) throw std::invalid_argument("identity_basis: need at least 2 rows");
  PcaModel m;
  m.mean = x.colwise().mean().transpose();
  const auto d = x.cols();
  m.components = RowMatrixF::Identity(d, d);
  m.explained_variance =
      ((x.rowwise() - m.mean.transpose()).colwise().squaredNorm() / static_cast<float>(x.rows() - 1)).transpose();
  m.total_variance = m.explained_variance.sum();
  return m;
}

namespace {

// True when every value is a whole multiple of 1/255 (pixel vectors: byte / 255).
bool all_bytes(MatrixRefF x) {
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      const float b = x(i, j) * 255.f;
      if (!(b >= 0.f && b <= 255.f) || std::abs(b - std::nearbyint(b)) > 1e-3f) return false;
    }
  return true;
}

}  // namespace

Eigen::MatrixXd gram_matrix(MatrixRefF x) {
  const Eigen::Index n = x.rows(), d = x.cols();
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
  if (!all_bytes(x)) {
    g.selfadjointView<Eigen::Lower>().rankUpdate(x.cast<double>());
    return g.selfadjointView<Eigen::Lower>();
  }
  // Byte rows: a block of 256 columns has dot products ≤ 256 · 255² < 2²⁴, so a float GEMM over
  // the byte values is exact there; the blocks add up exactly in double. Exact integers, at float
  // GEMM speed — near-duplicate faces would otherwise lose their small distances to cancellation.
  // The 256 × 256 tiles of the lower triangle run in parallel, each summing the same exact
  // column blocks in the same order: the result does not depend on the thread count.
  using Bytes = Eigen::Matrix<uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  // byte / 255 · 255 lies within 1e-4 of the byte: + 0.5 and truncation round it (vectorised).
  const Bytes b = (x.array() * 255.f + 0.5f).cast<int>().cast<uint8_t>().matrix();
  const Eigen::Index block = 256, tile = 256, nt = tiles(n, tile);
  std::vector<std::pair<Eigen::Index, Eigen::Index>> pairs;
  for (Eigen::Index i = 0; i < nt; ++i)
    for (Eigen::Index j = 0; j <= i; ++j) pairs.emplace_back(i, j);
  parallel_for(static_cast<std::ptrdiff_t>(pairs.size()), 0, [&](std::ptrdiff_t p) {
    const Eigen::Index r0 = pairs[static_cast<size_t>(p)].first * tile,
                       c0 = pairs[static_cast<size_t>(p)].second * tile;
    const Eigen::Index rn = std::min(tile, n - r0), cn = std::min(tile, n - c0);
    Eigen::MatrixXd acc = Eigen::MatrixXd::Zero(rn, cn);
    RowMatrixF a, c;
    Eigen::MatrixXf partial(rn, cn);
    for (Eigen::Index k0 = 0; k0 < d; k0 += block) {
      const Eigen::Index w = std::min(block, d - k0);
      a = b.block(r0, k0, rn, w).cast<float>();
      c = b.block(c0, k0, cn, w).cast<float>();
      partial.noalias() = a * c.transpose();
      acc += partial.cast<double>();
    }
    g.block(r0, c0, rn, cn) = acc;
  });
  g = g.selfadjointView<Eigen::Lower>();  // the upper parts of the off-diagonal tiles were never written
  return g / (255.0 * 255.0);
}

RowMatrixF span_coordinates(MatrixRefF x, Eigen::MatrixXd* gram) {
  const Eigen::Index n = x.rows();
  if (n < 2) return RowMatrixF::Zero(n, 1);
  // Any factor L of the Gram matrix (G = L·Lᵀ) has rows with the distances of x's rows:
  // |lᵢ − lⱼ|² = Gᵢᵢ + Gⱼⱼ − 2Gᵢⱼ. Cholesky costs n³/3 against an eigendecomposition's ~9n³.
  // The uncentred Gram is positive definite unless rows repeat (or are otherwise dependent);
  // then the pivoted LDLᵀ (semi-definite allowed) takes over.
  Eigen::MatrixXd g = gram_matrix(x);
  if (gram) *gram = g;
  Eigen::MatrixXd l;
  Eigen::LLT<Eigen::MatrixXd> llt(g);
  if (llt.info() == Eigen::Success) {
    l = llt.matrixL();
  } else {
    Eigen::LDLT<Eigen::MatrixXd> ldlt(g);
    const Eigen::VectorXd dsq = ldlt.vectorD().cwiseMax(0.0).cwiseSqrt();
    const Eigen::MatrixXd lo = Eigen::MatrixXd(ldlt.matrixL()) * dsq.asDiagonal();
    l = ldlt.transpositionsP().transpose() * lo;  // rows back in the order of x
  }
  // Centred, as PCA scores are (translation changes no distance).
  const Eigen::RowVectorXd mean = l.colwise().mean();
  RowMatrixF out = (l.rowwise() - mean).cast<float>();
  return out;
}

RowMatrixF reconstruction_coordinates(const PcaModel& pca, MatrixRefF z) {
  const Eigen::Index k = pca.components.rows();
  if (z.cols() != k)
    throw std::invalid_argument("reconstruction_coordinates: " + std::to_string(z.cols()) + " scores per row for " +
                                std::to_string(k) + " components");
  // mean = components^T·w + m⊥ with m⊥ orthogonal to every component.
  const Eigen::VectorXd mean = pca.mean.cast<double>();
  const Eigen::VectorXd w = pca.components.cast<double>() * mean;
  const double perp = std::sqrt(std::max(0.0, mean.squaredNorm() - w.squaredNorm()));
  RowMatrixF out(z.rows(), k + 1);
  out.leftCols(k) = z.rowwise() + w.cast<float>().transpose();
  out.col(k).setConstant(static_cast<float>(perp));
  return out;
}

}  // namespace lumaflow
