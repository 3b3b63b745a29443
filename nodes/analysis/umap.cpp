#include "nodes/analysis/umap.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "nodes/analysis/ann.hpp"
#include "nodes/core/distance.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/core/random.hpp"

namespace lumaflow {
namespace {

using SpMatF = Eigen::SparseMatrix<float, Eigen::RowMajor, int32_t>;
using SpMatD = Eigen::SparseMatrix<double, Eigen::RowMajor, int32_t>;

constexpr double kSmoothKTolerance = 1e-5;
constexpr double kMinKDistScale = 1e-3;
constexpr int kSmoothKIterations = 64;

// ---------------------------------------------------------------------------------------------
// Randomness: SplitMix64 (nodes/core/random.hpp) from a mixed seed; indices by multiply-shift,
// one normal per pair of uniforms.
struct Rng {
  SplitMix64 g;
  explicit Rng(uint64_t seed) : g(mix64(seed ^ 0x6A09E667F3BCC909ull)) {}
  uint32_t below(uint32_t n) { return below_multiply_shift(g.next(), n); }
  double uniform() { return g.uniform(); }
  double normal() {
    const double u1 = std::max(uniform(), 0x1.0p-53), u2 = uniform();
    return box_muller_first(u1, u2);
  }
};

// Hash of a row's bytes: the transform's per-point seed, independent of the batch.
uint64_t hash_row(const float* p, Eigen::Index d, uint64_t seed) {
  uint64_t h = mix64(seed + 0x3C6EF372FE94F82Bull) ^ static_cast<uint64_t>(d);
  Eigen::Index i = 0;
  for (; i + 2 <= d; i += 2) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof w);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  if (i < d) {
    uint32_t w;
    std::memcpy(&w, p + i, sizeof w);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
  }
  return mix64(h);
}

// ---------------------------------------------------------------------------------------------
void validate_options(const UmapOptions& o) {
  auto fail = [](const std::string& m) { throw std::invalid_argument("umap: " + m); };
  if (o.n_neighbors < 2) fail("n_neighbors must be >= 2, got " + std::to_string(o.n_neighbors));
  if (o.n_components < 1) fail("n_components must be >= 1, got " + std::to_string(o.n_components));
  if (!(o.spread > 0.0f) || !std::isfinite(o.spread)) fail("spread must be a positive number");
  if (!(o.min_dist >= 0.0f) || !(o.min_dist <= o.spread)) fail("min_dist must be in [0, spread]");
  if (o.n_epochs < -1) fail("n_epochs must be >= 0 or -1 (automatic)");
  if (o.transform_epochs < -1) fail("transform_epochs must be >= 0 or -1 (automatic)");
  if (!(o.learning_rate > 0.0f) || !std::isfinite(o.learning_rate)) fail("learning_rate must be positive");
  if (o.negative_sample_rate < 0) fail("negative_sample_rate must be >= 0");
  if (!(o.repulsion_strength >= 0.0f) || !std::isfinite(o.repulsion_strength)) fail("repulsion_strength must be >= 0");
  if (!(o.local_connectivity >= 0.0f) || !std::isfinite(o.local_connectivity)) fail("local_connectivity must be >= 0");
  if (!(o.set_op_mix_ratio >= 0.0f && o.set_op_mix_ratio <= 1.0f)) fail("set_op_mix_ratio must be in [0, 1]");
  if (o.exact_knn_max < 0) fail("exact_knn_max must be >= 0");
}

int fit_epochs(const UmapOptions& o, Eigen::Index n) {
  if (o.n_epochs >= 0) return o.n_epochs;
  return n <= 10000 ? 500 : 200;
}

int transform_epochs(const UmapOptions& o) {
  if (o.transform_epochs >= 0) return o.transform_epochs;
  // umap-learn: n_epochs // 3, and 100 when n_epochs was left automatic. (It also drops to 30 for
  // batches over 10,000 rows; we do not, so a point's place never depends on its batch.)
  return o.n_epochs < 0 ? 100 : o.n_epochs / 3;
}

// ---------------------------------------------------------------------------------------------
// Smooth kNN for one row. mean_fallback < 0 means "use the row's own mean distance".
void smooth_row(const float* dist, int k, double target, double local_connectivity, double mean_fallback,
                float& sigma_out, float& rho_out) {
  std::vector<double> nz;
  nz.reserve(static_cast<size_t>(k));
  double row_sum = 0.0;
  for (int j = 0; j < k; ++j) {
    row_sum += dist[j];
    if (dist[j] > 0.0f) nz.push_back(dist[j]);
  }
  const double row_mean = row_sum / k;
  double rho = 0.0;
  const auto nnz = static_cast<double>(nz.size());
  if (nnz >= local_connectivity && !nz.empty()) {
    const auto index = static_cast<size_t>(std::floor(local_connectivity));
    const double interp = local_connectivity - static_cast<double>(index);
    if (index > 0) {
      rho = nz[index - 1];
      if (interp > kSmoothKTolerance && index < nz.size()) rho += interp * (nz[index] - nz[index - 1]);
    } else {
      rho = interp * nz[0];
    }
  } else if (!nz.empty()) {
    rho = *std::max_element(nz.begin(), nz.end());
  }

  double lo = 0.0, hi = std::numeric_limits<double>::infinity(), mid = 1.0;
  for (int it = 0; it < kSmoothKIterations; ++it) {
    double psum = 0.0;
    // Column 0 is the point itself in a self-kNN; umap-learn skips it in every case.
    for (int j = 1; j < k; ++j) {
      const double d = dist[j] - rho;
      psum += d > 0.0 ? std::exp(-(d / mid)) : 1.0;
    }
    if (std::fabs(psum - target) < kSmoothKTolerance) break;
    if (psum > target) {
      hi = mid;
      mid = (lo + hi) / 2.0;
    } else {
      lo = mid;
      mid = std::isinf(hi) ? mid * 2.0 : (lo + hi) / 2.0;
    }
  }
  // Keeps sigma from collapsing where all neighbours sit at (almost) the same distance.
  const double floor_mean = (rho > 0.0 || mean_fallback < 0.0) ? row_mean : mean_fallback;
  mid = std::max(mid, kMinKDistScale * floor_mean);
  sigma_out = static_cast<float>(mid);
  rho_out = static_cast<float>(rho);
}

inline float membership(float d, float rho, float sigma) {
  const float x = d - rho;
  if (x <= 0.0f || sigma == 0.0f) return 1.0f;
  return std::exp(-(x / sigma));
}

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// SGD kernels. D > 0 fixes the dimension at compile time (2 and 3 are the common cases).
inline float clip4(float v) { return v > 4.0f ? 4.0f : (v < -4.0f ? -4.0f : v); }

template <int D>
inline float sqdist(const float* x, const float* y, int dim) {
  const int nd = D > 0 ? D : dim;
  float s = 0.0f;
  for (int c = 0; c < nd; ++c) {
    const float t = x[c] - y[c];
    s += t * t;
  }
  return s;
}

struct Curve {
  float a, b, gamma;
};

template <int D>
inline void attract(float* cur, float* other, int dim, const Curve& k, float alpha, bool move_other) {
  const int nd = D > 0 ? D : dim;
  const float d2 = sqdist<D>(cur, other, dim);
  if (!(d2 > 0.0f)) return;
  const float pb = std::pow(d2, k.b);
  const float coeff = -2.0f * k.a * k.b * pb / (d2 * (k.a * pb + 1.0f));
  for (int c = 0; c < nd; ++c) {
    const float g = clip4(coeff * (cur[c] - other[c]));
    cur[c] += g * alpha;
    if (move_other) other[c] -= g * alpha;
  }
}

template <int D>
inline void repel(float* cur, const float* other, int dim, const Curve& k, float alpha) {
  const int nd = D > 0 ? D : dim;
  const float d2 = sqdist<D>(cur, other, dim);
  // Coincident points (including the point drawn as its own negative sample) exert no force.
  if (!(d2 > 0.0f)) return;
  const float coeff = 2.0f * k.gamma * k.b / ((0.001f + d2) * (k.a * std::pow(d2, k.b) + 1.0f));
  if (!(coeff > 0.0f)) return;
  for (int c = 0; c < nd; ++c) cur[c] += clip4(coeff * (cur[c] - other[c])) * alpha;
}

// Edge list of a fuzzy graph with umap-learn's sampling schedule.
struct EdgeSchedule {
  std::vector<int32_t> head, tail;
  std::vector<double> epochs_per_sample;
};

// Runs umap-learn's optimize_layout_euclidean on `head_emb` (n_head × dim). Negative samples are
// drawn from the rows of tail_emb; with move_other the tail end of each edge moves too (fit,
// where head_emb and tail_emb are the same matrix).
template <int D>
void optimise(float* head_emb, float* tail_emb, Eigen::Index n_tail, int dim, const EdgeSchedule& s, int n_epochs,
              const Curve& curve, float alpha0, int negative_sample_rate, bool move_other, Rng& rng) {
  const size_t ne = s.head.size();
  if (ne == 0 || n_epochs <= 0) return;
  std::vector<double> next(s.epochs_per_sample), per_neg(ne), next_neg(ne);
  for (size_t e = 0; e < ne; ++e) {
    per_neg[e] = negative_sample_rate > 0 ? s.epochs_per_sample[e] / negative_sample_rate
                                          : std::numeric_limits<double>::infinity();
    next_neg[e] = per_neg[e];
  }
  const auto nt = static_cast<uint32_t>(n_tail);
  // Due edges are handled in groups of kLanes: their attractive moves in order, then their
  // negative samples interleaved round-robin. Still one sequential, deterministic order of
  // updates, but adjacent updates now mostly touch different vertices, so the CPU overlaps their
  // long pow/divide dependency chains (about twice as fast as edge-by-edge).
  constexpr int kLanes = 4;
  size_t lane_edge[kLanes];
  float* lane_cur[kLanes];
  int lane_neg[kLanes];
  int used = 0;
  float alpha = alpha0;
  double n = 0.0;
  auto flush = [&] {
    int max_neg = 0;
    for (int l = 0; l < used; ++l) {
      const size_t e = lane_edge[l];
      lane_cur[l] = head_emb + static_cast<ptrdiff_t>(s.head[e]) * dim;
      attract<D>(lane_cur[l], tail_emb + static_cast<ptrdiff_t>(s.tail[e]) * dim, dim, curve, alpha, move_other);
      next[e] += s.epochs_per_sample[e];
      lane_neg[l] = negative_sample_rate > 0 ? static_cast<int>((n - next_neg[e]) / per_neg[e]) : 0;
      if (negative_sample_rate > 0) next_neg[e] += lane_neg[l] * per_neg[e];
      max_neg = std::max(max_neg, lane_neg[l]);
    }
    for (int p = 0; p < max_neg; ++p)
      for (int l = 0; l < used; ++l)
        if (p < lane_neg[l])
          repel<D>(lane_cur[l], tail_emb + static_cast<ptrdiff_t>(rng.below(nt)) * dim, dim, curve, alpha);
    used = 0;
  };
  for (int epoch = 0; epoch < n_epochs; ++epoch) {
    alpha = alpha0 * (1.0f - static_cast<float>(epoch) / static_cast<float>(n_epochs));
    n = epoch;
    for (size_t e = 0; e < ne; ++e) {
      if (next[e] > n) continue;
      lane_edge[used++] = e;
      if (used == kLanes) flush();
    }
    flush();
  }
}

void run_optimise(float* head_emb, float* tail_emb, Eigen::Index n_tail, int dim, const EdgeSchedule& s, int n_epochs,
                  const Curve& curve, float alpha0, int nsr, bool move_other, Rng& rng) {
  switch (dim) {
    case 1: optimise<1>(head_emb, tail_emb, n_tail, dim, s, n_epochs, curve, alpha0, nsr, move_other, rng); break;
    case 2: optimise<2>(head_emb, tail_emb, n_tail, dim, s, n_epochs, curve, alpha0, nsr, move_other, rng); break;
    case 3: optimise<3>(head_emb, tail_emb, n_tail, dim, s, n_epochs, curve, alpha0, nsr, move_other, rng); break;
    default: optimise<0>(head_emb, tail_emb, n_tail, dim, s, n_epochs, curve, alpha0, nsr, move_other, rng); break;
  }
}

// ---------------------------------------------------------------------------------------------
// Deterministic exact kNN of one row against all data rows: distances summed in a fixed order
// (8 independent lanes), so the answer never depends on batch shape or GEMM blocking.
void row_knn(const float* q, const RowMatrixF& data, int k, std::vector<float>& sq, std::vector<int32_t>& idx,
             int32_t* out_idx, float* out_dist) {
  const Eigen::Index n = data.rows(), d = data.cols();
  sq.resize(static_cast<size_t>(n));
  idx.resize(static_cast<size_t>(n));
  for (Eigen::Index j = 0; j < n; ++j)
    sq[static_cast<size_t>(j)] = lane_squared_l2(q, data.row(j).data(), static_cast<size_t>(d));
  std::iota(idx.begin(), idx.end(), 0);
  auto less = [&](int32_t a, int32_t b) {
    const float da = sq[static_cast<size_t>(a)], db = sq[static_cast<size_t>(b)];
    return da < db || (da == db && a < b);
  };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), less);
  for (int j = 0; j < k; ++j) {
    out_idx[j] = idx[static_cast<size_t>(j)];
    out_dist[j] = std::sqrt(sq[static_cast<size_t>(idx[static_cast<size_t>(j)])]);
  }
}

// Exact self-kNN (point itself excluded) for up to a few thousand points: the Gram matrix is
// symmetric, so only the lower block triangle is multiplied, which halves the GEMM work that
// dominates for 16384-d pixel rows; the fixed 64×64-row blocks are spread over the threads, and
// as every block is the same computation whichever thread runs it, the result is independent of
// the thread count. Ties are broken by index, as in exact_knn.
KnnResult small_self_knn(MatrixRefF x, int k, int threads) {
  const Eigen::Index n = x.rows();
  constexpr Eigen::Index kBlock = 64;
  const Eigen::Index nb = (n + kBlock - 1) / kBlock;
  const Eigen::VectorXf norms = squared_norms(x);
  RowMatrixF d2(n, n);
  std::vector<std::pair<Eigen::Index, Eigen::Index>> pairs;
  for (Eigen::Index bi = 0; bi < nb; ++bi)
    for (Eigen::Index bj = 0; bj <= bi; ++bj) pairs.emplace_back(bi, bj);
  parallel_for(static_cast<std::ptrdiff_t>(pairs.size()), threads, [&](std::ptrdiff_t p) {
    const Eigen::Index i0 = pairs[static_cast<size_t>(p)].first * kBlock,
                       j0 = pairs[static_cast<size_t>(p)].second * kBlock;
    const Eigen::Index ni = std::min(kBlock, n - i0), nj = std::min(kBlock, n - j0);
    RowMatrixF g(ni, nj);
    g.noalias() = x.middleRows(i0, ni) * x.middleRows(j0, nj).transpose();
    for (Eigen::Index a = 0; a < ni; ++a)
      for (Eigen::Index c = 0; c < nj; ++c) {
        const float v = std::max(0.0f, norms(i0 + a) + norms(j0 + c) - 2.0f * g(a, c));
        d2(i0 + a, j0 + c) = v;
        d2(j0 + c, i0 + a) = v;
      }
  });
  KnnResult res;
  res.indices.resize(n, k);
  res.distances.resize(n, k);
  parallel_chunks(n, threads, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    std::vector<int32_t> idx(static_cast<size_t>(n - 1));
    for (std::ptrdiff_t i = b; i < e; ++i) {
      size_t w = 0;
      for (Eigen::Index j = 0; j < n; ++j)
        if (j != i) idx[w++] = static_cast<int32_t>(j);
      const float* row = d2.row(i).data();
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                        [&](int32_t a, int32_t c) { return row[a] < row[c] || (row[a] == row[c] && a < c); });
      for (int j = 0; j < k; ++j) {
        res.indices(i, j) = idx[static_cast<size_t>(j)];
        res.distances(i, j) = std::sqrt(row[idx[static_cast<size_t>(j)]]);
      }
    }
  });
  return res;
}

// Places one query row (kNN given) with the training layout frozen.
void transform_row(const UmapModel& model, const int32_t* nn, const float* nd, int k, uint64_t row_seed, float* out) {
  const UmapOptions& o = model.options;
  const int dim = static_cast<int>(model.embedding.cols());
  const Eigen::Index n_train = model.embedding.rows();
  float sigma = 0, rho = 0;
  // As umap-learn's transform: local_connectivity − 1 (so rho = 0 by default); the sigma floor
  // uses this row's own mean distance rather than the batch's, to stay batch-independent.
  smooth_row(nd, k, std::log2(static_cast<double>(o.n_neighbors)),
             std::max(0.0, static_cast<double>(o.local_connectivity) - 1.0), -1.0, sigma, rho);
  std::vector<float> w(static_cast<size_t>(k), 0.0f);
  double wsum = 0.0;
  float wmax = 0.0f;
  for (int j = 0; j < k; ++j) {
    if (nn[j] < 0 || nn[j] >= n_train) continue;
    w[static_cast<size_t>(j)] = membership(nd[j], rho, sigma);
    wsum += w[static_cast<size_t>(j)];
    wmax = std::max(wmax, w[static_cast<size_t>(j)]);
  }
  if (!(wsum > 0.0)) throw std::runtime_error("umap_transform: a query row has no valid neighbour");
  for (int c = 0; c < dim; ++c) {
    double acc = 0.0;
    for (int j = 0; j < k; ++j)
      if (w[static_cast<size_t>(j)] > 0.0f)
        acc += static_cast<double>(w[static_cast<size_t>(j)]) * model.embedding(nn[j], c);
    out[c] = static_cast<float>(acc / wsum);
  }
  const int n_epochs = transform_epochs(o);
  if (n_epochs <= 0) return;
  EdgeSchedule s;
  for (int j = 0; j < k; ++j) {
    const float wj = w[static_cast<size_t>(j)];
    if (!(wj > 0.0f) || wj < wmax / static_cast<float>(n_epochs)) continue;
    s.head.push_back(0);
    s.tail.push_back(nn[j]);
    s.epochs_per_sample.push_back(static_cast<double>(wmax) / wj);
  }
  Rng rng(row_seed);
  // The training layout is read-only here: move_other is false, so tail_emb is never written.
  float* tail = const_cast<float*>(model.embedding.data());
  run_optimise(out, tail, n_train, dim, s, n_epochs, Curve{model.a, model.b, o.repulsion_strength},
               o.learning_rate / 4.0f, o.negative_sample_rate, /*move_other=*/false, rng);
}

void check_model(const UmapModel& model, MatrixRefF query) {
  if (model.embedding.rows() == 0 || model.data.rows() != model.embedding.rows())
    throw std::invalid_argument("umap_transform: model is not fitted (empty or inconsistent data/embedding)");
  if (query.cols() != model.data.cols())
    throw std::invalid_argument("umap_transform: query has " + std::to_string(query.cols()) +
                                " columns, the model was fitted on " + std::to_string(model.data.cols()));
  if (model.options.n_neighbors > model.data.rows())
    throw std::invalid_argument("umap_transform: n_neighbors exceeds the number of training points");
  if (!query.allFinite()) throw std::invalid_argument("umap_transform: query contains NaN or infinite values");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
std::pair<float, float> fit_ab(float spread, float min_dist) {
  if (!(spread > 0.0f) || !(min_dist >= 0.0f)) throw std::invalid_argument("fit_ab: need spread > 0 and min_dist >= 0");
  constexpr int kPoints = 300;
  std::vector<double> xs(kPoints), ys(kPoints);
  for (int i = 0; i < kPoints; ++i) {
    xs[i] = 3.0 * spread * i / (kPoints - 1);
    ys[i] = xs[i] < min_dist ? 1.0 : std::exp(-(xs[i] - min_dist) / spread);
  }
  // Levenberg–Marquardt from (1, 1), as scipy's curve_fit; two parameters, so normal equations.
  auto sse = [&](double a, double b) {
    double s = 0.0;
    for (int i = 0; i < kPoints; ++i) {
      const double r = 1.0 / (1.0 + a * std::pow(xs[i], 2.0 * b)) - ys[i];
      s += r * r;
    }
    return s;
  };
  double a = 1.0, b = 1.0, lambda = 1e-3, cur = sse(a, b);
  for (int it = 0; it < 500; ++it) {
    Eigen::Matrix2d jtj = Eigen::Matrix2d::Zero();
    Eigen::Vector2d jtr = Eigen::Vector2d::Zero();
    for (int i = 0; i < kPoints; ++i) {
      const double x = xs[i];
      const double u = x > 0.0 ? std::pow(x, 2.0 * b) : 0.0;
      const double f = 1.0 / (1.0 + a * u);
      const double r = f - ys[i];
      const Eigen::Vector2d g(-u * f * f, x > 0.0 ? -a * u * 2.0 * std::log(x) * f * f : 0.0);
      jtj += g * g.transpose();
      jtr += g * r;
    }
    bool improved = false;
    for (int tries = 0; tries < 30 && !improved; ++tries) {
      Eigen::Matrix2d m = jtj;
      m.diagonal() *= (1.0 + lambda);
      const Eigen::Vector2d step = m.ldlt().solve(-jtr);
      const double na = a + step(0), nb = b + step(1);
      const double ns = sse(na, nb);
      if (std::isfinite(ns) && ns < cur) {
        const double rel = (cur - ns) / std::max(cur, 1e-300);
        a = na;
        b = nb;
        cur = ns;
        lambda = std::max(lambda / 10.0, 1e-12);
        improved = true;
        if (rel < 1e-14 || step.norm() < 1e-12) return {static_cast<float>(a), static_cast<float>(b)};
      } else {
        lambda *= 10.0;
      }
    }
    if (!improved) break;
  }
  return {static_cast<float>(a), static_cast<float>(b)};
}

SmoothKnn smooth_knn_dist(const RowMatrixF& distances, float k, float local_connectivity, double mean_all_distances,
                          int threads) {
  const Eigen::Index n = distances.rows();
  const int cols = static_cast<int>(distances.cols());
  SmoothKnn out;
  out.sigma.resize(static_cast<size_t>(n));
  out.rho.resize(static_cast<size_t>(n));
  const double target = std::log2(static_cast<double>(k));
  parallel_for(n, threads, [&](std::ptrdiff_t i) {
    smooth_row(distances.row(i).data(), cols, target, local_connectivity, mean_all_distances,
               out.sigma[static_cast<size_t>(i)], out.rho[static_cast<size_t>(i)]);
  });
  return out;
}

UmapModel umap_fit(MatrixRefF x, const UmapOptions& opt) {
  validate_options(opt);
  const Eigen::Index n = x.rows();
  const int k = opt.n_neighbors;
  if (x.cols() == 0) throw std::invalid_argument("umap_fit: data has no columns");
  if (n <= k)
    throw std::invalid_argument("umap_fit: need more points than n_neighbors (n=" + std::to_string(n) +
                                ", n_neighbors=" + std::to_string(k) + ")");
  if (!x.allFinite()) throw std::invalid_argument("umap_fit: data contains NaN or infinite values");

  UmapModel model;
  model.options = opt;
  model.data = x;
  std::tie(model.a, model.b) = fit_ab(opt.spread, opt.min_dist);

  // kNN with the point itself in column 0 at distance exactly 0 (GEMM distances would leave a
  // rounding residue there, which smooth_knn would take for rho).
  KnnResult others = n <= 4096 && n <= opt.exact_knn_max ? small_self_knn(x, k - 1, opt.threads)
                     : n <= opt.exact_knn_max
                         ? exact_knn(x, k - 1, /*exclude_self=*/true, opt.threads)
                         : approximate_knn(x, k - 1, /*exclude_self=*/true,
                                           AnnOptions{16, 200, std::max(100, 2 * k), opt.seed, opt.threads});
  IndexMatrix knn_idx(n, k);
  RowMatrixF knn_dist(n, k);
  for (Eigen::Index i = 0; i < n; ++i) {
    knn_idx(i, 0) = static_cast<int32_t>(i);
    knn_dist(i, 0) = 0.0f;
    knn_idx.row(i).tail(k - 1) = others.indices.row(i);
    knn_dist.row(i).tail(k - 1) = others.distances.row(i);
  }
  others = {};

  double total = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) total += knn_dist.row(i).cast<double>().sum();
  const SmoothKnn sk = smooth_knn_dist(knn_dist, static_cast<float>(k), opt.local_connectivity,
                                       total / static_cast<double>(n * k), opt.threads);

  // Directed membership strengths, then the fuzzy set union / intersection.
  std::vector<Eigen::Triplet<float, int32_t>> trip;
  trip.reserve(static_cast<size_t>(n * k));
  for (Eigen::Index i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) {
      const int32_t c = knn_idx(i, j);
      if (c < 0 || c == i) continue;
      const float v = membership(knn_dist(i, j), sk.rho[static_cast<size_t>(i)], sk.sigma[static_cast<size_t>(i)]);
      if (v > 0.0f) trip.emplace_back(static_cast<int32_t>(i), c, v);
    }
  SpMatF A(n, n);
  A.setFromTriplets(trip.begin(), trip.end());
  trip = {};
  const SpMatF At = A.transpose();
  const SpMatF P = A.cwiseProduct(At);
  const float mix = opt.set_op_mix_ratio;
  SpMatF G = mix * (SpMatF(A + At) - P) + (1.0f - mix) * P;
  G.prune([](int32_t, int32_t, float v) { return v > 0.0f; });

  const int n_epochs = fit_epochs(opt, n);
  if (G.nonZeros() > 0 && n_epochs > 0) {
    // Edges too weak to be sampled even once in n_epochs are dropped (umap-learn does the same).
    const float wmax = Eigen::Map<const Eigen::VectorXf>(G.valuePtr(), G.nonZeros()).maxCoeff();
    const float cut = wmax / static_cast<float>(n_epochs);
    G.prune([cut](int32_t, int32_t, float v) { return v >= cut; });
  }
  G.makeCompressed();

  Rng rng(opt.seed);
  const int dim = opt.n_components;
  Eigen::MatrixXd init;
  if (count_components(G) == 1) init = spectral_layout(G, dim, rng);
  // Disconnected graph (or spectral failure): the data's principal components keep far-apart
  // groups apart, where an eigenvector per component would not.
  if (init.size() == 0) init = pca_layout(x, dim, rng);
  model.embedding = finish_init(init, rng);

  if (G.nonZeros() > 0 && n_epochs > 0) {
    EdgeSchedule s;
    s.head.reserve(static_cast<size_t>(G.nonZeros()));
    s.tail.reserve(static_cast<size_t>(G.nonZeros()));
    s.epochs_per_sample.reserve(static_cast<size_t>(G.nonZeros()));
    const double wmax = Eigen::Map<const Eigen::VectorXf>(G.valuePtr(), G.nonZeros()).maxCoeff();
    // Slot-major order (every vertex's first edge, then every vertex's second, ...) instead of
    // umap-learn's row-major one: consecutive updates then touch different vertices, so the CPU
    // overlaps their long pow/divide dependency chains instead of waiting on each in turn. Any
    // fixed order is within umap-learn's semantics (its parallel mode has none at all).
    const int32_t* outer = G.outerIndexPtr();
    int32_t max_deg = 0;
    for (Eigen::Index i = 0; i < n; ++i) max_deg = std::max(max_deg, outer[i + 1] - outer[i]);
    for (int32_t slot = 0; slot < max_deg; ++slot)
      for (Eigen::Index i = 0; i < n; ++i) {
        const int32_t p = outer[i] + slot;
        if (p >= outer[i + 1]) continue;
        s.head.push_back(static_cast<int32_t>(i));
        s.tail.push_back(G.innerIndexPtr()[p]);
        s.epochs_per_sample.push_back(wmax / G.valuePtr()[p]);
      }
    // One thread on purpose: the update order is part of the result, and Hogwild-style parallel
    // SGD (umap-learn's) makes it depend on timing.
    float* y = model.embedding.data();
    run_optimise(y, y, n, dim, s, n_epochs, Curve{model.a, model.b, opt.repulsion_strength}, opt.learning_rate,
                 opt.negative_sample_rate, /*move_other=*/true, rng);
  }
  return model;
}

RowMatrixF umap_transform(const UmapModel& model, MatrixRefF query, const KnnResult& knn) {
  check_model(model, query);
  const int k = model.options.n_neighbors;
  if (knn.indices.rows() != query.rows() || knn.distances.rows() != query.rows() || knn.indices.cols() < k ||
      knn.distances.cols() < k)
    throw std::invalid_argument("umap_transform: knn must have one row per query row and >= n_neighbors columns");
  RowMatrixF out(query.rows(), model.embedding.cols());
  parallel_for(query.rows(), model.options.threads, [&](std::ptrdiff_t i) {
    const IndexMatrix::ConstRowXpr ri = knn.indices.row(i);
    const Eigen::Matrix<int32_t, 1, Eigen::Dynamic> nn = ri.head(k);
    const Eigen::RowVectorXf nd = knn.distances.row(i).head(k);
    const Eigen::RowVectorXf q = query.row(i);
    transform_row(model, nn.data(), nd.data(), k, hash_row(q.data(), q.size(), model.options.seed), out.row(i).data());
  });
  return out;
}

RowMatrixF umap_transform(const UmapModel& model, MatrixRefF query) {
  check_model(model, query);
  const int k = model.options.n_neighbors;
  RowMatrixF out(query.rows(), model.embedding.cols());
  parallel_chunks(query.rows(), model.options.threads, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    std::vector<float> sq, nd(static_cast<size_t>(k));
    std::vector<int32_t> idx, nn(static_cast<size_t>(k));
    Eigen::RowVectorXf q;
    for (std::ptrdiff_t i = b; i < e; ++i) {
      q = query.row(i);
      row_knn(q.data(), model.data, k, sq, idx, nn.data(), nd.data());
      transform_row(model, nn.data(), nd.data(), k, hash_row(q.data(), q.size(), model.options.seed),
                    out.row(i).data());
    }
  });
  return out;
}

}  // namespace lumaflow
