// UMAP's initial layout: spectral embedding of the fuzzy graph, principal components when the
// graph is disconnected, then umap-learn's finishing (see umap_internal.hpp).
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <numeric>

#include "nodes/analysis/umap_internal.hpp"

namespace lumaflow::umap_detail {
namespace {

// Spectral initialisation: the eigenvectors of the normalised Laplacian L = I - D^-1/2 W D^-1/2
// with the smallest non-trivial eigenvalues, i.e. those of M = D^-1/2 W D^-1/2 with the largest.
// M's top eigenvector u ∝ sqrt(degree) is known and deflated exactly.

Eigen::MatrixXd spectral_dense(const SpMatD& W, const Eigen::VectorXd& dinv, int dim) {
  const Eigen::Index n = W.rows();
  Eigen::MatrixXd L = Eigen::MatrixXd::Identity(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (SpMatD::InnerIterator it(W, i); it; ++it) L(i, it.col()) -= dinv(i) * it.value() * dinv(it.col());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(L);
  if (es.info() != Eigen::Success) return {};
  return es.eigenvectors().middleCols(1, dim);  // ascending: column 0 is the trivial one
}

// Thick-restart Lanczos (symmetric Krylov–Schur) with full reorthogonalisation, for the `dim`
// largest eigenpairs of M restricted to u⊥. Accuracy needs are modest (this only seeds the SGD),
// so an unconverged result after the iteration cap is still used.
Eigen::MatrixXd spectral_lanczos(const SpMatD& W, const Eigen::VectorXd& dinv, const Eigen::VectorXd& u, int dim,
                                 Rng& rng) {
  const Eigen::Index n = W.rows();
  const int m = static_cast<int>(std::min<Eigen::Index>(
      n - 2, std::max<Eigen::Index>(2 * dim + 20, static_cast<Eigen::Index>(std::sqrt(static_cast<double>(n))))));
  const int keep = std::max(dim + 1, std::min(m - 2, dim + (m - dim) / 2));
  const double tol = 1e-6;
  const int max_restarts = 300;

  Eigen::VectorXd scratch(n);
  auto apply = [&](const Eigen::VectorXd& x, Eigen::VectorXd& y) {
    scratch = dinv.cwiseProduct(x);
    y.noalias() = W * scratch;
    y = dinv.cwiseProduct(y);
    y -= u * u.dot(y);
  };
  auto random_unit = [&](Eigen::Index cols_used, const Eigen::MatrixXd& V) {
    Eigen::VectorXd v(n);
    for (Eigen::Index i = 0; i < n; ++i) v(i) = rng.normal();
    for (int pass = 0; pass < 2; ++pass) {
      v -= u * u.dot(v);
      if (cols_used > 0) v -= V.leftCols(cols_used) * (V.leftCols(cols_used).transpose() * v);
    }
    return Eigen::VectorXd(v / v.norm());
  };

  Eigen::MatrixXd V(n, m + 1);
  Eigen::MatrixXd H = Eigen::MatrixXd::Zero(m + 1, m);
  V.col(0) = random_unit(0, V);
  int l = 0;  // number of locked Ritz vectors at the front of V
  Eigen::VectorXd w(n), h;
  Eigen::MatrixXd ritz;
  for (int restart = 0;; ++restart) {
    for (int j = l; j < m; ++j) {
      apply(V.col(j), w);
      const auto Vj = V.leftCols(j + 1);
      h = Vj.transpose() * w;
      w.noalias() -= Vj * h;
      const Eigen::VectorXd h2 = Vj.transpose() * w;  // second Gram–Schmidt pass
      w.noalias() -= Vj * h2;
      h += h2;
      w -= u * u.dot(w);
      H.col(j).head(j + 1) = h;
      const double beta = w.norm();
      if (beta > 1e-10) {
        H(j + 1, j) = beta;
        V.col(j + 1) = w / beta;
      } else {  // invariant subspace found: continue with a fresh direction
        H(j + 1, j) = 0.0;
        V.col(j + 1) = random_unit(j + 1, V);
      }
    }
    const Eigen::MatrixXd S = 0.5 * (H.topRows(m) + H.topRows(m).transpose());
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(S);
    if (es.info() != Eigen::Success) return {};
    // Descending order: the wanted eigenvalues are the largest.
    const Eigen::MatrixXd Y = es.eigenvectors().rowwise().reverse();
    const Eigen::VectorXd theta = es.eigenvalues().reverse();
    const double beta_m = H(m, m - 1);
    bool converged = true;
    for (int i = 0; i < dim; ++i) converged = converged && std::fabs(beta_m * Y(m - 1, i)) < tol;
    if (converged || restart >= max_restarts) {
      ritz = V.leftCols(m) * Y.leftCols(dim);
      break;
    }
    // Restart from the `keep` best Ritz vectors plus the residual direction.
    const Eigen::MatrixXd kept = V.leftCols(m) * Y.leftCols(keep);
    const Eigen::VectorXd next = V.col(m);
    V.leftCols(keep) = kept;
    V.col(keep) = next;
    H.setZero();
    for (int i = 0; i < keep; ++i) {
      H(i, i) = theta(i);
      H(keep, i) = beta_m * Y(m - 1, i);
    }
    l = keep;
  }
  return ritz;
}

// Fixes each column's sign (largest-magnitude entry positive) so eigen/SVD solver conventions
// never leak into the result.
void canonical_signs(Eigen::MatrixXd& v) {
  for (Eigen::Index c = 0; c < v.cols(); ++c) {
    Eigen::Index arg = 0;
    v.col(c).cwiseAbs().maxCoeff(&arg);
    if (v(arg, c) < 0) v.col(c) = -v.col(c);
  }
}

// Returns an empty matrix when the spectral route is not applicable or failed.
Eigen::MatrixXd spectral_layout(const SpMatF& graph, int dim, Rng& rng) {
  const Eigen::Index n = graph.rows();
  if (n < dim + 3) return {};
  const SpMatD W = graph.cast<double>();
  Eigen::VectorXd deg = Eigen::VectorXd::Zero(n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (SpMatD::InnerIterator it(W, i); it; ++it) deg(i) += it.value();
  if ((deg.array() <= 0.0).any()) return {};
  const Eigen::VectorXd sqrt_deg = deg.cwiseSqrt();
  const Eigen::VectorXd dinv = sqrt_deg.cwiseInverse();
  Eigen::MatrixXd vecs =
      n <= 96 ? spectral_dense(W, dinv, dim) : spectral_lanczos(W, dinv, sqrt_deg / sqrt_deg.norm(), dim, rng);
  if (vecs.rows() != n || !vecs.allFinite()) return {};
  canonical_signs(vecs);
  return vecs;
}

// First `dim` principal-component scores by a randomised range finder (two power iterations),
// never forming the centred copy of a possibly 16384-column matrix.
Eigen::MatrixXd pca_layout(MatrixRefF x, int dim, Rng& rng) {
  const Eigen::Index n = x.rows(), d = x.cols();
  const Eigen::RowVectorXd mu = x.cast<double>().colwise().mean();
  const Eigen::RowVectorXf muf = mu.cast<float>();
  const Eigen::Index r = std::min<Eigen::Index>({static_cast<Eigen::Index>(dim) + 10, n, d});
  auto orthonormal = [](const Eigen::MatrixXd& a) {
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
    return Eigen::MatrixXd(qr.householderQ() * Eigen::MatrixXd::Identity(a.rows(), a.cols()));
  };
  // Xc·B and Xcᵀ·C with Xc = X − 1·mu, in float GEMM (the data are float) then double.
  auto times = [&](const Eigen::MatrixXd& b) {
    Eigen::MatrixXd y = (x * b.cast<float>()).cast<double>();
    y.rowwise() -= mu * b;
    return y;
  };
  auto times_t = [&](const Eigen::MatrixXd& c) {
    Eigen::MatrixXd z = (x.transpose() * c.cast<float>()).cast<double>();
    z -= (muf.transpose().cast<double>()) * c.colwise().sum();
    return z;
  };
  Eigen::MatrixXd omega(d, r);
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = 0; j < r; ++j) omega(i, j) = rng.normal();
  Eigen::MatrixXd q = orthonormal(times(omega));
  for (int it = 0; it < 2; ++it) q = orthonormal(times(orthonormal(times_t(q))));
  const Eigen::MatrixXd bt = times_t(q);  // d × r = (Qᵀ Xc)ᵀ
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(bt.transpose() * bt);
  Eigen::MatrixXd scores = Eigen::MatrixXd::Zero(n, dim);
  const Eigen::Index have = std::min<Eigen::Index>(dim, r);
  for (Eigen::Index c = 0; c < have; ++c) {
    const Eigen::Index src = r - 1 - c;  // eigenvalues ascending
    scores.col(c) = q * es.eigenvectors().col(src) * std::sqrt(std::max(0.0, es.eigenvalues()(src)));
  }
  canonical_signs(scores);
  return scores;
}

// umap-learn's finishing of an initial layout: expand to max |coord| = 10, add N(0, 1e-4) noise,
// then rescale every column to [0, 10].
RowMatrixF finish_init(const Eigen::MatrixXd& coords, Rng& rng) {
  const Eigen::Index n = coords.rows(), dim = coords.cols();
  const double m = coords.cwiseAbs().maxCoeff();
  const double expansion = m > 0.0 ? 10.0 / m : 1.0;
  RowMatrixF emb(n, dim);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index c = 0; c < dim; ++c)
      emb(i, c) = static_cast<float>(coords(i, c) * expansion) + static_cast<float>(1e-4 * rng.normal());
  for (Eigen::Index c = 0; c < dim; ++c) {
    const float lo = emb.col(c).minCoeff(), hi = emb.col(c).maxCoeff();
    if (hi > lo) {
      emb.col(c) = (emb.col(c).array() - lo) * (10.0f / (hi - lo));
    } else {
      for (Eigen::Index i = 0; i < n; ++i) emb(i, c) = static_cast<float>(10.0 * rng.uniform());
    }
  }
  return emb;
}

int count_components(const SpMatF& g) {
  std::vector<int32_t> parent(static_cast<size_t>(g.rows()));
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int32_t a) {
    while (parent[static_cast<size_t>(a)] != a)
      a = parent[static_cast<size_t>(a)] = parent[static_cast<size_t>(parent[static_cast<size_t>(a)])];
    return a;
  };
  int comps = static_cast<int>(g.rows());
  for (Eigen::Index i = 0; i < g.rows(); ++i)
    for (SpMatF::InnerIterator it(g, i); it; ++it) {
      const int32_t a = find(static_cast<int32_t>(i)), b = find(it.col());
      if (a != b) {
        parent[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
        --comps;
      }
    }
  return comps;
}

}  // namespace

RowMatrixF initial_layout(const SpMatF& graph, MatrixRefF x, int dim, Rng& rng) {
  Eigen::MatrixXd init;
  if (count_components(graph) == 1) init = spectral_layout(graph, dim, rng);
  // Disconnected graph (or spectral failure): the data's principal components keep far-apart
  // groups apart, where an eigenvector per component would not.
  if (init.size() == 0) init = pca_layout(x, dim, rng);
  return finish_init(init, rng);
}

}  // namespace lumaflow::umap_detail
