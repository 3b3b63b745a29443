#include "nodes/analysis/tsne.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <algorithm>
#include <barrier>
#include <cfloat>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "nodes/core/parallel.hpp"
#include "nodes/core/random.hpp"

namespace lumaflow {
namespace {

constexpr int kCheckEvery = 50;            // sklearn's _N_ITER_CHECK
constexpr int kIterWithoutProgress = 300;  // sklearn's n_iter_without_progress default
constexpr double kMinGain = 0.01;
constexpr double kInitStd = 1e-4;

void validate(MatrixRefF x, const TsneOptions& opt) {
  const Eigen::Index n = x.rows();
  if (opt.n_components != 2)
    throw std::invalid_argument("tsne: n_components=" + std::to_string(opt.n_components) +
                                " but the Barnes-Hut quad-tree supports only 2");
  if (n < 4) throw std::invalid_argument("tsne: needs at least 4 points, got " + std::to_string(n));
  if (x.cols() < 1) throw std::invalid_argument("tsne: input has no columns");
  if (!x.allFinite()) throw std::invalid_argument("tsne: input contains NaN or infinite values");
  if (!std::isfinite(opt.perplexity) || opt.perplexity <= 0.f)
    throw std::invalid_argument("tsne: perplexity must be positive and finite");
  if (static_cast<double>(opt.perplexity) >= static_cast<double>(n))
    throw std::invalid_argument("tsne: perplexity (" + std::to_string(opt.perplexity) +
                                ") must be less than the number of points (" + std::to_string(n) + ")");
  if (!(opt.early_exaggeration >= 1.f) || !std::isfinite(opt.early_exaggeration))
    throw std::invalid_argument("tsne: early_exaggeration must be at least 1");
  if (opt.exaggeration_iters < 0) throw std::invalid_argument("tsne: exaggeration_iters must be >= 0");
  if (opt.n_iter < 1) throw std::invalid_argument("tsne: n_iter must be >= 1");
  if (std::isnan(opt.learning_rate) || opt.learning_rate == 0.f || std::isinf(opt.learning_rate))
    throw std::invalid_argument("tsne: learning_rate must be finite and non-zero (negative = auto)");
  if (!(opt.theta >= 0.f) || !std::isfinite(opt.theta))
    throw std::invalid_argument("tsne: theta must be finite and >= 0");
}

// ---- PCA init ------------------------------------------------------------------------------

// Orthonormal basis of the columns of m (thin Householder Q), in float for the big products.
Eigen::MatrixXf orthonormalize(const Eigen::MatrixXf& m) {
  const Eigen::MatrixXd md = m.cast<double>();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(md);
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(md.rows(), md.cols());
  return q.cast<float>();
}

// Scores on the first two principal components by randomised subspace iteration (the idea of
// sklearn's svd_solver="randomized"): with 4 extra columns and 3 power iterations the scores
// agree with the exact components to |cos| > 0.99998 on orl, at eight thin passes over x, far
// cheaper than a Gram or covariance eigendecomposition of 16384-d rows (the init is rescaled to
// std 1e-4 anyway). x is centred implicitly (no n×d copy).
RowMatrixD pca_scores(MatrixRefF x, uint64_t seed) {
  const Eigen::Index n = x.rows(), d = x.cols();
  const Eigen::RowVectorXf mu = (Eigen::RowVectorXf::Ones(n) * x) / static_cast<float>(n);
  auto xc_times = [&](const Eigen::MatrixXf& v) {  // (x − 1μ) v
    Eigen::MatrixXf r = x * v;
    r.rowwise() -= mu * v;
    return r;
  };
  auto xct_times = [&](const Eigen::MatrixXf& u) {  // (x − 1μ)ᵀ u
    Eigen::MatrixXf r = x.transpose() * u;
    r -= mu.transpose() * u.colwise().sum();
    return r;
  };
  const Eigen::Index k = std::min<Eigen::Index>({6, n, d});
  GaussianMt64 normal(seed, GaussianMt64::ZeroGuard::kRedraw);
  Eigen::MatrixXf omega(d, k);
  for (Eigen::Index j = 0; j < k; ++j)
    for (Eigen::Index r = 0; r < d; ++r) omega(r, j) = static_cast<float>(normal());
  Eigen::MatrixXf q = orthonormalize(xc_times(omega));
  for (int it = 0; it < 3; ++it) q = orthonormalize(xc_times(orthonormalize(xct_times(q))));
  // Rayleigh–Ritz on the sketch: xc ≈ Q B with B = Qᵀ xc; B Bᵀ = U Λ Uᵀ; scores = Q U √Λ.
  const Eigen::MatrixXd bt = xct_times(q).cast<double>();  // d×k = Bᵀ
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(bt.transpose() * bt);
  const Eigen::MatrixXd qd = q.cast<double>();
  RowMatrixD scores(n, 2);
  for (int c = 0; c < 2; ++c) {
    const Eigen::Index col = k - 1 - c;  // eigenvalues ascend
    if (col < 0) {
      scores.col(c).setZero();
      continue;
    }
    const double sv = std::sqrt(std::max(0.0, es.eigenvalues()(col)));
    scores.col(c) = qd * es.eigenvectors().col(col) * sv;
    // svd_flip: the entry of largest magnitude is positive (first one on ties).
    Eigen::Index arg = 0;
    for (Eigen::Index i = 1; i < n; ++i)
      if (std::abs(scores(i, c)) > std::abs(scores(arg, c))) arg = i;
    if (scores(arg, c) < 0) scores.col(c) *= -1.0;
  }
  return scores;
}

// ---- Quad-tree -------------------------------------------------------------------------------

// Built top-down by a stable counting sort of point indices into quadrants, so its shape and
// the order of every sum over it depend only on the positions. Leaves hold up to kLeafSize
// points: a cell that fails the opening test is then summed exactly over its few points instead
// of being split further, which visits far fewer nodes and is, if anything, more accurate than
// sklearn's one-point leaves (a far cell is still summarised by its centre of mass either way).
class QuadTree {
 public:
  QuadTree(const double* y, int32_t n) {
    order_.resize(static_cast<size_t>(n));
    scratch_.resize(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) order_[static_cast<size_t>(i)] = i;
    double x0 = y[0], x1 = y[0], y0 = y[1], y1 = y[1];
    for (int32_t i = 1; i < n; ++i) {
      x0 = std::min(x0, y[2 * i]);
      x1 = std::max(x1, y[2 * i]);
      y0 = std::min(y0, y[2 * i + 1]);
      y1 = std::max(y1, y[2 * i + 1]);
    }
    nodes_.reserve(static_cast<size_t>(n / 2 + 8));
    nodes_.push_back({});
    build(y, 0, 0, n, x0, y0, x1, y1, 0);
    // Leaf points in tree order, so an exact leaf sum reads contiguous memory.
    pos_.resize(2 * static_cast<size_t>(n));
    slot_.resize(static_cast<size_t>(n));
    for (int32_t t = 0; t < n; ++t) {
      slot_[static_cast<size_t>(order_[static_cast<size_t>(t)])] = t;
      pos_[2 * static_cast<size_t>(t)] = y[2 * order_[static_cast<size_t>(t)]];
      pos_[2 * static_cast<size_t>(t) + 1] = y[2 * order_[static_cast<size_t>(t)] + 1];
    }
  }

  // Unnormalised repulsion on point i at (xi, yi); adds Σ q to z_out and Σ q²(y_i − y_j) to
  // (fx_out, fy_out). Sums run in locals so they stay in registers (the outputs may alias).
  void repulsion(int32_t i, double xi, double yi, double theta2, double& fx_out, double& fy_out, double& z_out) const {
    double fx = 0, fy = 0, z = 0;
    int32_t stack[4 * kMaxDepth + 8];
    int sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const Node& nd = nodes_[static_cast<size_t>(stack[--sp])];
      const double dx = xi - nd.cx, dy = yi - nd.cy;
      const double d2 = dx * dx + dy * dy;
      if (nd.width2 < theta2 * d2) {
        const double q = 1.0 / (1.0 + d2);
        const double m = (nd.end - nd.begin) * q;
        z += m;
        fx += m * q * dx;
        fy += m * q * dy;
      } else if (nd.child < 0) {
        // Exact over the leaf, skipping i itself by position rather than by a test per point.
        const int32_t self = slot_[static_cast<size_t>(i)];
        const bool inside = self >= nd.begin && self < nd.end;
        exact(nd.begin, inside ? self : nd.end, xi, yi, fx, fy, z);
        if (inside) exact(self + 1, nd.end, xi, yi, fx, fy, z);
      } else {
        for (int32_t c = nd.nchild - 1; c >= 0; --c) stack[sp++] = nd.child + c;
      }
    }
    fx_out += fx;
    fy_out += fy;
    z_out += z;
  }

 private:
  struct Node {
    double cx, cy;  // centre of mass
    double width2;  // squared larger side of the cell
    int32_t child;  // first of nchild consecutive non-empty children, -1 for a leaf
    int32_t nchild;
    int32_t begin, end;  // the node's points are order_[begin, end)
  };

  void exact(int32_t b, int32_t e, double xi, double yi, double& fx, double& fy, double& z) const {
    const double* pos = pos_.data();
    for (int32_t t = b; t < e; ++t) {
      const double ex = xi - pos[2 * t], ey = yi - pos[2 * t + 1];
      const double q = 1.0 / (1.0 + ex * ex + ey * ey);
      z += q;
      fx += q * q * ex;
      fy += q * q * ey;
    }
  }
  static constexpr int32_t kLeafSize = 8;
  // Deep enough to separate any two distinct float-precision positions in practice; a leaf at
  // this depth may hold more than kLeafSize points, which are then summed exactly.
  static constexpr int kMaxDepth = 48;

  void build(const double* y, size_t id, int32_t b, int32_t e, double x0, double y0, double x1, double y1, int depth) {
    const double w = std::max(x1 - x0, y1 - y0);
    Node nd{};
    nd.width2 = w * w;
    nd.child = -1;
    nd.begin = b;
    nd.end = e;
    bool all_same = true;
    double sx = 0, sy = 0;
    const int32_t f = order_[static_cast<size_t>(b)];
    for (int32_t t = b; t < e; ++t) {
      const int32_t p = order_[static_cast<size_t>(t)];
      sx += y[2 * p];
      sy += y[2 * p + 1];
      all_same = all_same && y[2 * p] == y[2 * f] && y[2 * p + 1] == y[2 * f + 1];
    }
    nd.cx = sx / (e - b);
    nd.cy = sy / (e - b);
    if (e - b <= kLeafSize || all_same || depth >= kMaxDepth) {
      nodes_[id] = nd;
      return;
    }
    const double mx = 0.5 * (x0 + x1), my = 0.5 * (y0 + y1);
    int32_t counts[4] = {0, 0, 0, 0};
    auto quadrant = [&](int32_t p) { return (y[2 * p] >= mx ? 1 : 0) + (y[2 * p + 1] >= my ? 2 : 0); };
    for (int32_t t = b; t < e; ++t) ++counts[quadrant(order_[static_cast<size_t>(t)])];
    int32_t starts[4];
    starts[0] = b;
    for (int c = 1; c < 4; ++c) starts[c] = starts[c - 1] + counts[c - 1];
    int32_t fill[4] = {starts[0], starts[1], starts[2], starts[3]};
    for (int32_t t = b; t < e; ++t) {
      const int32_t p = order_[static_cast<size_t>(t)];
      scratch_[static_cast<size_t>(fill[quadrant(p)]++)] = p;
    }
    std::copy(scratch_.begin() + b, scratch_.begin() + e, order_.begin() + b);
    nd.child = static_cast<int32_t>(nodes_.size());
    for (int c = 0; c < 4; ++c)
      if (counts[c] > 0) ++nd.nchild;
    nodes_[id] = nd;
    nodes_.resize(nodes_.size() + static_cast<size_t>(nd.nchild));
    size_t cid = static_cast<size_t>(nd.child);
    for (int c = 0; c < 4; ++c) {
      if (counts[c] == 0) continue;
      const double cx0 = (c & 1) ? mx : x0, cx1 = (c & 1) ? x1 : mx;
      const double cy0 = (c & 2) ? my : y0, cy1 = (c & 2) ? y1 : my;
      build(y, cid++, starts[c], starts[c] + counts[c], cx0, cy0, cx1, cy1, depth + 1);
    }
  }

  std::vector<Node> nodes_;
  std::vector<int32_t> order_, scratch_, slot_;  // slot_[i]: position of point i in order_
  std::vector<double> pos_;
};

// Threads worth using for the per-point force passes: below ~128 points a share is too small to
// pay for the synchronisation.
int effective_threads(Eigen::Index n, int threads) {
  const int t = resolve_threads(threads);
  return static_cast<int>(std::max<Eigen::Index>(1, std::min<Eigen::Index>(t, n / 128)));
}

}  // namespace

double tsne_learning_rate(Eigen::Index n, const TsneOptions& opt) {
  if (opt.learning_rate > 0.f) return opt.learning_rate;
  // sklearn 1.2 learning_rate="auto" (issue #18018): max(N / early_exaggeration / 4, 50).
  return std::max(static_cast<double>(n) / opt.early_exaggeration / 4.0, 50.0);
}

namespace detail {

RowMatrixD binary_search_perplexity(const RowMatrixF& sq_dist, double perplexity, int threads) {
  const Eigen::Index n = sq_dist.rows(), k = sq_dist.cols();
  if (k < 1) throw std::invalid_argument("binary_search_perplexity: no neighbours");
  const double target = std::log(perplexity);
  RowMatrixD p(n, k);
  parallel_for(n, threads, [&](std::ptrdiff_t i) {
    // Distances are shifted by the row minimum: P and the entropy are unchanged (the shift
    // cancels in the normalisation) but exp() cannot underflow on 16384-d squared distances,
    // where sklearn's exp(−d·β) starts out as all zeros.
    double dmin = std::numeric_limits<double>::infinity();
    for (Eigen::Index j = 0; j < k; ++j) dmin = std::min(dmin, static_cast<double>(sq_dist(i, j)));
    double beta = 1.0, lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    auto row = p.row(i);
    for (int step = 0; step < 100; ++step) {
      double sum = 0.0;
      for (Eigen::Index j = 0; j < k; ++j) {
        row(j) = std::exp(-(sq_dist(i, j) - dmin) * beta);
        sum += row(j);
      }
      double sum_dp = 0.0;
      for (Eigen::Index j = 0; j < k; ++j) {
        row(j) /= sum;
        sum_dp += (sq_dist(i, j) - dmin) * row(j);
      }
      const double diff = std::log(sum) + beta * sum_dp - target;
      if (std::abs(diff) <= 1e-5) break;
      if (diff > 0.0) {  // too flat: sharpen
        lo = beta;
        beta = std::isinf(hi) ? beta * 2.0 : 0.5 * (beta + hi);
      } else {
        hi = beta;
        beta = std::isinf(lo) ? beta * 0.5 : 0.5 * (beta + lo);
      }
    }
  });
  return p;
}

SparseP joint_probabilities(const IndexMatrix& nbr, const RowMatrixD& cond) {
  const Eigen::Index n = nbr.rows(), k = nbr.cols();
  // Row r of P + Pᵀ holds (j, p_{j|r}) for its own neighbours and (i, p_{r|i}) for every i that
  // lists r; collect both, sort by column, merge pairs (only two terms, so order is immaterial).
  std::vector<int64_t> deg(static_cast<size_t>(n) + 1, 0);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index t = 0; t < k; ++t) {
      const int32_t j = nbr(i, t);
      if (j < 0 || j >= n || j == i) throw std::invalid_argument("joint_probabilities: bad neighbour index");
      ++deg[static_cast<size_t>(i) + 1];
      ++deg[static_cast<size_t>(j) + 1];
    }
  for (Eigen::Index i = 0; i < n; ++i) deg[static_cast<size_t>(i) + 1] += deg[static_cast<size_t>(i)];
  std::vector<std::pair<int32_t, double>> coo(static_cast<size_t>(deg.back()));
  std::vector<int64_t> fill(deg.begin(), deg.end() - 1);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index t = 0; t < k; ++t) {
      const int32_t j = nbr(i, t);
      const double v = cond(i, t);
      coo[static_cast<size_t>(fill[static_cast<size_t>(i)]++)] = {j, v};
      coo[static_cast<size_t>(fill[static_cast<size_t>(j)]++)] = {static_cast<int32_t>(i), v};
    }
  SparseP out;
  out.indptr.assign(static_cast<size_t>(n) + 1, 0);
  out.indices.reserve(coo.size());
  out.values.reserve(coo.size());
  for (Eigen::Index r = 0; r < n; ++r) {
    auto first = coo.begin() + deg[static_cast<size_t>(r)], last = coo.begin() + deg[static_cast<size_t>(r) + 1];
    std::sort(first, last, [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto it = first; it != last; ++it) {
      if (!out.indices.empty() && static_cast<int64_t>(out.indices.size()) > out.indptr[static_cast<size_t>(r)] &&
          out.indices.back() == it->first)
        out.values.back() += it->second;
      else {
        out.indices.push_back(it->first);
        out.values.push_back(it->second);
      }
    }
    out.indptr[static_cast<size_t>(r) + 1] = static_cast<int64_t>(out.indices.size());
  }
  double total = 0.0;
  for (double v : out.values) total += v;
  total = std::max(total, std::numeric_limits<double>::epsilon());
  for (double& v : out.values) v /= total;
  return out;
}

Repulsion bh_repulsion(const RowMatrixD& y, double theta, int threads) {
  if (y.cols() != 2) throw std::invalid_argument("bh_repulsion: embedding must be n×2");
  const Eigen::Index n = y.rows();
  Repulsion out;
  out.force.setZero(n, 2);
  if (n == 0) return out;
  const QuadTree tree(y.data(), static_cast<int32_t>(n));
  std::vector<double> zi(static_cast<size_t>(n), 0.0);
  parallel_for(n, threads, [&](std::ptrdiff_t i) {
    tree.repulsion(static_cast<int32_t>(i), y(i, 0), y(i, 1), theta * theta, out.force(i, 0), out.force(i, 1),
                   zi[static_cast<size_t>(i)]);
  });
  for (double z : zi) out.z += z;
  return out;
}

RowMatrixD initial_embedding(MatrixRefF x, const TsneOptions& opt) {
  const Eigen::Index n = x.rows();
  if (opt.init == TsneOptions::Init::pca) {
    RowMatrixD y = pca_scores(x, opt.seed);
    const double mean0 = y.col(0).mean();
    const double std0 = std::sqrt((y.col(0).array() - mean0).square().mean());
    // All points identical (no variance): fall through to the random layout.
    if (std0 > 0 && std::isfinite(std0)) return y * (kInitStd / std0);
  }
  GaussianMt64 normal(opt.seed, GaussianMt64::ZeroGuard::kRedraw);
  RowMatrixD y(n, 2);
  for (Eigen::Index i = 0; i < y.size(); ++i) y.data()[i] = kInitStd * normal();
  return y;
}

}  // namespace detail

RowMatrixF tsne(MatrixRefF x, const TsneOptions& opt) {
  validate(x, opt);
  const Eigen::Index n = x.rows();
  const int k = static_cast<int>(std::min<double>(static_cast<double>(n - 1), std::floor(3.0 * opt.perplexity + 1.0)));
  const int threads = resolve_threads(opt.threads);

  // The kNN and the PCA init are each one serial GEMM-bound pass over x and independent of each
  // other, so they run side by side (each is deterministic on its own).
  detail::SparseP P;
  RowMatrixD y;
  parallel_for(2, threads, [&](std::ptrdiff_t task) {
    if (task == 1) {
      y = detail::initial_embedding(x, opt);
      return;
    }
    const KnnResult knn = exact_knn(x, k, /*exclude_self=*/true, threads);
    // sklearn squares the Euclidean kNN distances before the perplexity search.
    const RowMatrixF sq = knn.distances.array().square().matrix();
    P = detail::joint_probabilities(knn.indices, detail::binary_search_perplexity(sq, opt.perplexity, threads));
  });
  const size_t m = static_cast<size_t>(2 * n);
  std::vector<double> update(m, 0.0), gains(m, 1.0), attr(m), rep(m), zi(static_cast<size_t>(n));
  const double lr = tsne_learning_rate(n, opt);
  const double theta2 = static_cast<double>(opt.theta) * opt.theta;
  const int n_iter = opt.n_iter;
  const int explore = std::min(opt.exaggeration_iters, n_iter);

  // sklearn's _gradient_descent, twice: the exaggerated phase (momentum 0.5), then the rest
  // (momentum 0.8) from the iteration after the first one stopped. Progress (KL) and the gradient
  // norm are checked every kCheckEvery iterations; each phase starts with a fresh best error.
  struct Phase {
    int end;
    double exag, momentum;
    int without_progress;
    double best;
    int best_iter;
  };
  auto second_phase = [&](int start) {
    return Phase{n_iter, 1.0, 0.8, kIterWithoutProgress, std::numeric_limits<double>::max(), start};
  };
  Phase phase = explore > 0
                    ? Phase{explore, opt.early_exaggeration, 0.5, explore, std::numeric_limits<double>::max(), 0}
                    : second_phase(0);
  bool in_first = explore > 0;
  int it = 0;
  bool done = false;
  std::unique_ptr<QuadTree> tree;
  std::exception_ptr failure;

  // Forces on points [b, e) at the current y: exact sparse attraction, Barnes-Hut repulsion.
  auto forces = [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    for (std::ptrdiff_t i = b; i < e; ++i) {
      const double xi = y(i, 0), yi = y(i, 1);
      double ax = 0, ay = 0;
      for (int64_t t = P.indptr[static_cast<size_t>(i)]; t < P.indptr[static_cast<size_t>(i) + 1]; ++t) {
        const int32_t j = P.indices[static_cast<size_t>(t)];
        const double dx = xi - y(j, 0), dy = yi - y(j, 1);
        const double pq = P.values[static_cast<size_t>(t)] / (1.0 + dx * dx + dy * dy);
        ax += pq * dx;
        ay += pq * dy;
      }
      attr[2 * static_cast<size_t>(i)] = ax;
      attr[2 * static_cast<size_t>(i) + 1] = ay;
      double fx = 0, fy = 0, z = 0;
      tree->repulsion(static_cast<int32_t>(i), xi, yi, theta2, fx, fy, z);
      rep[2 * static_cast<size_t>(i)] = fx;
      rep[2 * static_cast<size_t>(i) + 1] = fy;
      zi[static_cast<size_t>(i)] = z;
    }
  };

  // The serial part of iteration `it`: Z, optional KL, the gains/momentum step, the stopping
  // rules; then the tree for the next iteration (or done).
  auto advance = [&] {
    const bool check = (it + 1) % kCheckEvery == 0;
    double z = 0;
    for (double v : zi) z += v;  // fixed order: identical for any thread count
    z = std::max(z, std::numeric_limits<double>::min());
    double error = 0;
    if (check) {
      // KL(P‖Q) over the sparse P, as sklearn's Barnes-Hut error (with the exaggerated P).
      for (Eigen::Index i = 0; i < n; ++i)
        for (int64_t t = P.indptr[static_cast<size_t>(i)]; t < P.indptr[static_cast<size_t>(i) + 1]; ++t) {
          const int32_t j = P.indices[static_cast<size_t>(t)];
          const double dx = y(i, 0) - y(j, 0), dy = y(i, 1) - y(j, 1);
          const double p = phase.exag * P.values[static_cast<size_t>(t)];
          const double q = 1.0 / ((1.0 + dx * dx + dy * dy) * z);
          error += p * std::log(std::max(p, double{FLT_MIN}) / std::max(q, double{FLT_MIN}));
        }
    }
    double norm2 = 0;
    for (size_t c = 0; c < m; ++c) {
      // dC/dy_i = 4 (exag Σ p_ij q_ij (y_i − y_j) − Σ q_ij² (y_i − y_j) / Z), q unnormalised.
      const double g = 4.0 * (phase.exag * attr[c] - rep[c] / z);
      norm2 += g * g;
      gains[c] = (update[c] * g < 0.0) ? gains[c] + 0.2 : std::max(gains[c] * 0.8, kMinGain);
      update[c] = phase.momentum * update[c] - lr * gains[c] * g;
      y.data()[c] += update[c];
    }
    bool stop = false;
    if (check) {
      if (error < phase.best) {
        phase.best = error;
        phase.best_iter = it;
      } else if (it - phase.best_iter > phase.without_progress) {
        stop = true;
      }
      stop = stop || std::sqrt(norm2) <= opt.min_grad_norm;
    }
    ++it;
    if (stop || it >= phase.end) {
      if (in_first && it < n_iter) {
        in_first = false;
        phase = second_phase(it);
      } else {
        done = true;
      }
    }
    if (!done) tree = std::make_unique<QuadTree>(y.data(), static_cast<int32_t>(n));
  };

  // Workers live for the whole descent and meet at a barrier twice per iteration: spawning
  // threads every iteration would cost more than a 400-point iteration itself. Thread 0 runs the
  // serial part; the others only ever compute forces on their fixed share of the points.
  const int workers = effective_threads(n, threads);
  tree = std::make_unique<QuadTree>(y.data(), static_cast<int32_t>(n));
  std::barrier sync(workers);
  parallel_for(workers, workers, [&](std::ptrdiff_t w) {
    const std::ptrdiff_t b = n * w / workers, e = n * (w + 1) / workers;
    for (;;) {
      forces(b, e);
      sync.arrive_and_wait();  // all forces in
      if (w == 0) {
        try {
          advance();
        } catch (...) {
          failure = std::current_exception();
          done = true;
        }
      }
      sync.arrive_and_wait();  // y, tree and `done` published
      if (done) break;
    }
  });
  if (failure) std::rethrow_exception(failure);

  return y.cast<float>();
}

}  // namespace lumaflow
