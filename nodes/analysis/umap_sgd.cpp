// UMAP's layout optimisation: the membership curve fit and umap-learn's SGD with negative
// sampling (see umap_internal.hpp).
#include <Eigen/Cholesky>
#include <limits>
#include <stdexcept>

#include "nodes/analysis/umap_internal.hpp"

namespace lumaflow {
namespace umap_detail {
namespace {

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

}  // namespace

EdgeSchedule fit_schedule(const SpMatF& G) {
  const Eigen::Index n = G.rows();
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
  return s;
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

}  // namespace umap_detail

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

}  // namespace lumaflow
