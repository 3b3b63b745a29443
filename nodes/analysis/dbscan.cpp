#include "nodes/analysis/dbscan.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "nodes/core/parallel.hpp"

namespace lumaflow {
namespace {

// |GEMM squared distance − exact squared distance| <= kBand · (‖a‖² + ‖b‖²). Float GEMM over
// d terms errs by about sqrt(d)·2⁻²⁴ relative to the norms; over all pairs of the 400 orl faces
// at 16384-d the worst error seen was 5e-6·(‖a‖²+‖b‖²) (uniform random rows 5e-7), so 1e-4 is a
// 20× margin while keeping the exact re-checks (O(d) each) to a thin slice of the pairs.
constexpr double kBand = 1e-4;

// Row scale factors (1/‖row‖ when normalising) and the squared norms of the scaled rows, in
// double. Every GEMM runs on the rows as given and applies the scales to its products, so no
// normalised copy of x is ever made.
struct Scaled {
  std::vector<double> scale;  // 1/‖row‖ when normalising (1 for zero rows), else 1
  std::vector<double> sq;     // ‖scale·row‖² (1 or 0 when normalising)
};

Scaled scaled_norms(MatrixRefF x, bool normalize) {
  const auto n = static_cast<size_t>(x.rows());
  Scaled s{std::vector<double>(n, 1.0), std::vector<double>(n, 0.0)};
  for (size_t i = 0; i < n; ++i) {
    const double q = x.row(static_cast<Eigen::Index>(i)).cast<double>().squaredNorm();
    if (normalize && q > 0) {
      s.scale[i] = 1.0 / std::sqrt(q);
      s.sq[i] = q * s.scale[i] * s.scale[i];
    } else {
      s.sq[i] = normalize ? 0.0 : q;
    }
  }
  return s;
}

// Squared distance of scaled rows i and j from their raw dot product g.
inline double scaled_sq(const Scaled& s, size_t i, size_t j, float g) {
  return s.sq[i] + s.sq[j] - 2.0 * s.scale[i] * s.scale[j] * static_cast<double>(g);
}

// Exact squared distance between scaled rows i and j of x, in double.
double exact_sq(MatrixRefF x, const std::vector<double>& scale, Eigen::Index i, Eigen::Index j) {
  return (x.row(i).cast<double>() * scale[static_cast<size_t>(i)] -
          x.row(j).cast<double>() * scale[static_cast<size_t>(j)])
      .squaredNorm();
}

// Block height as a function of n only, so every block has the same shape for any thread count
// (Eigen's GEMM rounding depends on the shape) and small problems still split across cores.
Eigen::Index block_rows_for(Eigen::Index n) {
  Eigen::Index b = std::clamp<Eigen::Index>(n / 16, 32, 256);
  return (b + 7) / 8 * 8;
}

void check_eps(float eps, const char* who) {
  if (!(eps > 0) || !std::isfinite(eps))
    throw std::invalid_argument(std::string(who) + ": eps must be a positive finite number, got " +
                                std::to_string(eps));
}

// A radius holding about max_pairs unordered pairs of scaled rows, from the distance
// distribution of up to 512 evenly spaced rows to all rows; +inf when every pair fits.
float radius_for_pairs(MatrixRefF x, const Scaled& s, int64_t max_pairs) {
  const Eigen::Index n = x.rows();
  const double all_pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
  if (max_pairs <= 0 || all_pairs <= static_cast<double>(max_pairs)) return std::numeric_limits<float>::infinity();
  const Eigen::Index m = std::min<Eigen::Index>(n, 512);
  std::vector<float> d2;
  d2.reserve(static_cast<size_t>(m * (n - 1)));
  // 64 sampled rows per product: one pass over x per block, not per row.
  constexpr Eigen::Index kRows = 64;
  RowMatrixF rows, g;
  for (Eigen::Index t0 = 0; t0 < m; t0 += kRows) {
    const Eigen::Index b = std::min(kRows, m - t0);
    rows.resize(b, x.cols());
    for (Eigen::Index r = 0; r < b; ++r) rows.row(r) = x.row((t0 + r) * n / m);
    g.noalias() = rows * x.transpose();
    for (Eigen::Index r = 0; r < b; ++r) {
      const auto i = static_cast<size_t>((t0 + r) * n / m);
      for (Eigen::Index j = 0; j < n; ++j)
        if (static_cast<size_t>(j) != i)
          d2.push_back(static_cast<float>(scaled_sq(s, i, static_cast<size_t>(j), g(r, j))));
    }
  }
  const auto k = static_cast<size_t>(static_cast<double>(max_pairs) / all_pairs * static_cast<double>(d2.size()));
  std::nth_element(d2.begin(), d2.begin() + static_cast<std::ptrdiff_t>(k), d2.end());
  const float r = std::sqrt(std::max(0.f, d2[k]));
  return std::nextafter(r, 0.f) > 0 ? std::nextafter(r, 0.f) : r;
}

// mask[e] = 1 iff stored edge e is within eps, deciding pairs near the boundary exactly.
std::vector<uint8_t> within_mask(const detail::RadiusGraph& graph, MatrixRefF x, const std::vector<double>& scale,
                                 float eps, int threads) {
  const double e = decimal_value(eps), eps2 = e * e;
  const Eigen::Index n = static_cast<Eigen::Index>(graph.offsets.size()) - 1;
  std::vector<uint8_t> mask(graph.neighbors.size(), 0);
  parallel_for(n, threads, [&](std::ptrdiff_t i) {
    const double si = graph.sq_norm[static_cast<size_t>(i)];
    for (int64_t k = graph.offsets[static_cast<size_t>(i)]; k < graph.offsets[static_cast<size_t>(i) + 1]; ++k) {
      const auto uk = static_cast<size_t>(k);
      const int32_t j = graph.neighbors[uk];
      const double v = graph.sq_dist[uk];
      const double band = kBand * (si + graph.sq_norm[static_cast<size_t>(j)]);
      bool in;
      if (v < eps2 - band)
        in = true;
      else if (v > eps2 + band)
        in = false;
      else
        in = exact_sq(x, scale, i, j) <= eps2;
      mask[uk] = in ? 1 : 0;
    }
  });
  return mask;
}

std::vector<int> counts_from_mask(const detail::RadiusGraph& graph, const std::vector<uint8_t>& mask) {
  const size_t n = graph.offsets.size() - 1;
  std::vector<int> counts(n, 1);  // the point itself
  for (size_t i = 0; i < n; ++i)
    for (int64_t k = graph.offsets[i]; k < graph.offsets[i + 1]; ++k) counts[i] += mask[static_cast<size_t>(k)];
  return counts;
}

// ---- exact DBSCAN in O(n·min_pts) memory -------------------------------------------------
//
// sklearn's dbscan_inner grows cluster c from the first unlabelled core point and labels every
// point density-reachable from it before cluster c+1 starts. So its clusters are the connected
// components of the core points (edges: pairs within eps), numbered in the order of each
// component's smallest index, and a non-core point within eps of some core point takes the
// smallest cluster number among its core neighbours (the first expansion that reached it).
// That identity lets the labels come from neighbour counts and a union-find, without keeping
// the neighbourhoods, which at a large eps hold O(n²) pairs.

int worker_count(Eigen::Index n, int threads) {
  const Eigen::Index B = block_rows_for(n), nb = (n + B - 1) / B;
  return static_cast<int>(std::max<Eigen::Index>(1, std::min<Eigen::Index>(resolve_threads(threads), nb)));
}

// Upper triangle of the scaled distance matrix, block row by block row: block b holds rows
// [b0, b0+B) against columns [b0, n). Calls visit(worker, i, j, v, band) for every pair i < j
// whose GEMM squared distance v is <= limit2 + band, where band bounds v's float error;
// worker is in [0, workers). Which pairs are visited does not depend on `workers`, the order
// does; within a worker, pairs come in blocks of ascending i.
template <class Visit>
void for_each_pair_within(MatrixRefF x, const Scaled& s, double limit2, int workers, Visit&& visit) {
  const Eigen::Index n = x.rows();
  const Eigen::Index B = block_rows_for(n), nb = (n + B - 1) / B;
  // Block b costs ∝ n − b·B; pairing the first with the last balances contiguous chunks.
  std::vector<Eigen::Index> order;
  for (Eigen::Index lo = 0, hi = nb - 1; lo <= hi; ++lo, --hi) {
    order.push_back(lo);
    if (lo != hi) order.push_back(hi);
  }
  parallel_chunks(workers, workers, [&](std::ptrdiff_t w0, std::ptrdiff_t w1) {
    RowMatrixF g;
    for (std::ptrdiff_t w = w0; w < w1; ++w)
      for (Eigen::Index t = nb * w / workers; t < nb * (w + 1) / workers; ++t) {
        const Eigen::Index b0 = order[static_cast<size_t>(t)] * B, rows = std::min(B, n - b0);
        g.resize(rows, n - b0);
        g.noalias() = x.middleRows(b0, rows) * x.middleRows(b0, n - b0).transpose();
        for (Eigen::Index r = 0; r < rows; ++r) {
          const auto i = static_cast<size_t>(b0 + r);
          for (Eigen::Index c = r + 1; c < g.cols(); ++c) {
            const auto j = static_cast<size_t>(b0 + c);
            const double v = scaled_sq(s, i, j, g(r, c));
            const double band = kBand * (s.sq[i] + s.sq[j]);
            if (v <= limit2 + band)
              visit(static_cast<int>(w), static_cast<int32_t>(i), static_cast<int32_t>(j), v, band);
          }
        }
      }
  });
}

// The same, for pairs whose exact squared distance is <= eps2: visit(worker, i, j).
template <class Visit>
void for_each_close_pair(MatrixRefF x, const Scaled& s, double eps2, int workers, Visit&& visit) {
  for_each_pair_within(x, s, eps2, workers, [&](int w, int32_t i, int32_t j, double v, double band) {
    if (v >= eps2 - band && exact_sq(x, s.scale, i, j) > eps2) return;
    visit(w, i, j);
  });
}

// Symmetric radius graph (CSR) of the pairs within max_eps2 plus
// the error band, with their GEMM distances: exact decisions are made per eps later.
detail::RadiusGraph build_graph(MatrixRefF x, const Scaled& s, double max_eps2, int threads) {
  const Eigen::Index n = x.rows();
  detail::RadiusGraph graph;
  graph.sq_norm.assign(s.sq.begin(), s.sq.end());
  graph.offsets.assign(static_cast<size_t>(n) + 1, 0);
  if (n == 0) return graph;
  struct Pair {
    int32_t i, j;
    float sq;
  };
  const int workers = worker_count(n, threads);
  std::vector<std::vector<Pair>> found(static_cast<size_t>(workers));
  for_each_pair_within(x, s, max_eps2, workers, [&](int w, int32_t i, int32_t j, double v, double) {
    found[static_cast<size_t>(w)].push_back({i, j, static_cast<float>(v)});
  });
  for (const auto& f : found)
    for (const Pair& p : f) {
      ++graph.offsets[static_cast<size_t>(p.i) + 1];
      ++graph.offsets[static_cast<size_t>(p.j) + 1];
    }
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) graph.offsets[i + 1] += graph.offsets[i];
  const size_t nnz = static_cast<size_t>(graph.offsets.back());
  graph.neighbors.resize(nnz);
  graph.sq_dist.resize(nnz);
  std::vector<int64_t> pos(graph.offsets.begin(), graph.offsets.end() - 1);
  for (auto& f : found) {
    for (const Pair& p : f) {
      const auto a = static_cast<size_t>(pos[static_cast<size_t>(p.i)]++);
      graph.neighbors[a] = p.j;
      graph.sq_dist[a] = p.sq;
      const auto c = static_cast<size_t>(pos[static_cast<size_t>(p.j)]++);
      graph.neighbors[c] = p.i;
      graph.sq_dist[c] = p.sq;
    }
    std::vector<Pair>().swap(f);
  }
  return graph;
}

// Union-find whose root is always the smallest index of its set (so merging is order-free).
class UnionFind {
 public:
  explicit UnionFind(Eigen::Index n) : parent_(static_cast<size_t>(n)) {
    for (size_t i = 0; i < parent_.size(); ++i) parent_[i] = static_cast<int32_t>(i);
  }
  int32_t find(int32_t i) {
    while (parent_[static_cast<size_t>(i)] != i) {
      int32_t& p = parent_[static_cast<size_t>(i)];
      p = parent_[static_cast<size_t>(p)];  // path halving
      i = p;
    }
    return i;
  }
  void unite(int32_t a, int32_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (a > b) std::swap(a, b);
    parent_[static_cast<size_t>(b)] = a;
  }

 private:
  std::vector<int32_t> parent_;
};

using BorderPairs = std::vector<std::pair<int32_t, int32_t>>;  // (non-core point, core neighbour)

// A pair within eps: two core points join one component; a non-core point notes its core
// neighbour (it has fewer than min_pts neighbours, so these stay O(n·min_pts)).
void link_pair(const std::vector<uint8_t>& core, UnionFind& uf, BorderPairs& border, int32_t i, int32_t j) {
  const bool ci = core[static_cast<size_t>(i)], cj = core[static_cast<size_t>(j)];
  if (ci && cj)
    uf.unite(i, j);
  else if (ci)
    border.emplace_back(j, i);
  else if (cj)
    border.emplace_back(i, j);
}

Labels labels_from_components(const std::vector<uint8_t>& core, UnionFind& uf, const BorderPairs& border) {
  const auto n = static_cast<int32_t>(core.size());
  Labels labels(static_cast<size_t>(n), -1);
  std::vector<int> cluster_of_root(static_cast<size_t>(n), -1);
  int next = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (!core[static_cast<size_t>(i)]) continue;
    int& c = cluster_of_root[static_cast<size_t>(uf.find(i))];
    if (c < 0) c = next++;
    labels[static_cast<size_t>(i)] = c;
  }
  for (const auto& [p, q] : border) {
    int& l = labels[static_cast<size_t>(p)];
    const int c = labels[static_cast<size_t>(q)];
    if (l < 0 || c < l) l = c;
  }
  return labels;
}

void check_min_pts(int min_pts, const char* who) {
  if (min_pts < 1)
    throw std::invalid_argument(std::string(who) + ": min_pts must be >= 1, got " + std::to_string(min_pts));
}

}  // namespace

Labels dbscan(MatrixRefF x, const DbscanOptions& opt) {
  check_eps(opt.eps, "dbscan");
  check_min_pts(opt.min_pts, "dbscan");
  const Eigen::Index n = x.rows();
  if (n == 0) return {};
  const Scaled s = scaled_norms(x, opt.normalize);
  const double e = decimal_value(opt.eps), eps2 = e * e;
  const int workers = worker_count(n, opt.threads);

  // Pass 1: neighbour counts; the pairs themselves are kept while they fit the budget.
  struct CountState {
    std::vector<int32_t> counts;
    std::vector<std::pair<int32_t, int32_t>> pairs;
  };
  std::vector<CountState> cs(static_cast<size_t>(workers));
  for (CountState& st : cs) st.counts.assign(static_cast<size_t>(n), 0);
  std::atomic<int64_t> kept{0};
  std::atomic<bool> keep{opt.pair_budget > 0};
  for_each_close_pair(x, s, eps2, workers, [&](int w, int32_t i, int32_t j) {
    CountState& st = cs[static_cast<size_t>(w)];
    ++st.counts[static_cast<size_t>(i)];
    ++st.counts[static_cast<size_t>(j)];
    if (keep.load(std::memory_order_relaxed)) {
      if (kept.fetch_add(1, std::memory_order_relaxed) < opt.pair_budget)
        st.pairs.emplace_back(i, j);
      else
        keep.store(false, std::memory_order_relaxed);
    }
  });
  std::vector<uint8_t> core(static_cast<size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) {
    int64_t c = 1;  // the point itself
    for (const CountState& st : cs) c += st.counts[static_cast<size_t>(i)];
    core[static_cast<size_t>(i)] = c >= opt.min_pts;
  }

  // Pass 2 (from the kept pairs, or a second distance pass): components and border points.
  UnionFind uf(n);
  BorderPairs border;
  if (keep.load()) {
    for (CountState& st : cs) {
      for (const auto& [i, j] : st.pairs) link_pair(core, uf, border, i, j);
      std::vector<std::pair<int32_t, int32_t>>().swap(st.pairs);
    }
  } else {
    cs.clear();
    struct LinkState {
      std::unique_ptr<UnionFind> uf;
      BorderPairs border;
    };
    std::vector<LinkState> ls(static_cast<size_t>(workers));
    for_each_close_pair(x, s, eps2, workers, [&](int w, int32_t i, int32_t j) {
      if (!core[static_cast<size_t>(i)] && !core[static_cast<size_t>(j)]) return;
      LinkState& st = ls[static_cast<size_t>(w)];
      if (!st.uf) st.uf = std::make_unique<UnionFind>(n);
      link_pair(core, *st.uf, st.border, i, j);
    });
    for (LinkState& st : ls) {
      if (st.uf)
        for (int32_t i = 0; i < n; ++i) uf.unite(i, st.uf->find(i));
      border.insert(border.end(), st.border.begin(), st.border.end());
    }
  }
  return labels_from_components(core, uf, border);
}

RadiusNeighborhoods::RadiusNeighborhoods(MatrixRefF x, float max_eps, bool normalize, int threads, int64_t max_pairs)
    : data_(x), max_eps_(max_eps), requested_max_eps_(max_eps), threads_(threads) {
  check_eps(max_eps, "RadiusNeighborhoods");
  const Scaled s = scaled_norms(data_, normalize);
  max_eps_ = std::min(max_eps_, radius_for_pairs(data_, s, max_pairs));
  const double e = decimal_value(max_eps_);
  graph_ = build_graph(data_, s, e * e, threads);
  scale_ = s.scale;
}

std::vector<uint8_t> RadiusNeighborhoods::within(float eps) const {
  check_eps(eps, "RadiusNeighborhoods");
  if (eps > max_eps_)
    throw std::invalid_argument("RadiusNeighborhoods: eps " + std::to_string(eps) + " exceeds max_eps " +
                                std::to_string(max_eps_));
  return within_mask(graph_, data_, scale_, eps, threads_);
}

Labels RadiusNeighborhoods::dbscan(float eps, int min_pts) const {
  check_min_pts(min_pts, "RadiusNeighborhoods::dbscan");
  const std::vector<uint8_t> mask = within(eps);
  const std::vector<int> counts = counts_from_mask(graph_, mask);
  const auto n = static_cast<int32_t>(counts.size());
  std::vector<uint8_t> core(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) core[i] = counts[i] >= min_pts;
  UnionFind uf(n);
  BorderPairs border;
  for (int32_t i = 0; i < n; ++i)
    for (int64_t k = graph_.offsets[static_cast<size_t>(i)]; k < graph_.offsets[static_cast<size_t>(i) + 1]; ++k) {
      const int32_t j = graph_.neighbors[static_cast<size_t>(k)];
      if (j > i && mask[static_cast<size_t>(k)]) link_pair(core, uf, border, i, j);  // each pair once
    }
  return labels_from_components(core, uf, border);
}

std::vector<int> RadiusNeighborhoods::neighbor_counts(float eps) const { return counts_from_mask(graph_, within(eps)); }

std::vector<float> k_distances(MatrixRefF x, int k, bool normalize, int threads) {
  const Eigen::Index n = x.rows();
  if (k < 1 || k > n)
    throw std::invalid_argument("k_distances: k=" + std::to_string(k) + " must be in [1, " + std::to_string(n) + "]");
  const Scaled s = scaled_norms(x, normalize);
  const double sq_max = n ? *std::max_element(s.sq.begin(), s.sq.end()) : 0.0;
  std::vector<float> out(static_cast<size_t>(n));
  const Eigen::Index B = block_rows_for(n), nb = (n + B - 1) / B;
  // Contiguous runs of whole blocks per thread: block shapes (hence GEMM rounding) and the exact
  // refinement below make the result independent of the thread count.
  parallel_chunks(nb, threads, [&](std::ptrdiff_t bb, std::ptrdiff_t be) {
    std::vector<float> row(static_cast<size_t>(n)), sorted(static_cast<size_t>(n));
    std::vector<double> exact;
    RowMatrixF g;
    for (std::ptrdiff_t blk = bb; blk < be; ++blk) {
      const Eigen::Index r0 = blk * B, rows = std::min(B, n - r0);
      g.noalias() = x.middleRows(r0, rows) * x.transpose();
      for (Eigen::Index r = 0; r < rows; ++r) {
        const auto i = static_cast<size_t>(r0 + r);
        for (Eigen::Index j = 0; j < n; ++j)
          row[static_cast<size_t>(j)] = static_cast<float>(scaled_sq(s, i, static_cast<size_t>(j), g(r, j)));
        row[i] = 0.f;
        sorted = row;
        std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end());
        const double v = sorted[static_cast<size_t>(k - 1)];
        // Every true k-nearest has GEMM distance² <= v + 2·band; re-rank those exactly.
        const double limit = v + 2 * kBand * (s.sq[i] + sq_max);
        exact.clear();
        for (Eigen::Index j = 0; j < n; ++j)
          if (static_cast<size_t>(j) == i)
            exact.push_back(0.0);
          else if (row[static_cast<size_t>(j)] <= limit)
            exact.push_back(exact_sq(x, s.scale, static_cast<Eigen::Index>(i), j));
        std::nth_element(exact.begin(), exact.begin() + (k - 1), exact.end());
        // Rounded up to the next float, so that eps = this value still counts the k-th
        // neighbour in (a round-to-nearest float can fall just below the exact distance).
        const double d = std::sqrt(exact[static_cast<size_t>(k - 1)]);
        float f = static_cast<float>(d);
        if (static_cast<double>(f) < d) f = std::nextafter(f, std::numeric_limits<float>::infinity());
        out[i] = f;
      }
    }
  });
  std::sort(out.begin(), out.end());
  return out;
}

float knee_of_sorted(const std::vector<float>& v) {
  if (v.empty()) throw std::invalid_argument("knee_of_sorted: empty curve");
  const size_t n = v.size();
  const double lo = v.front(), hi = v.back();
  if (n < 3 || !(hi > lo)) return v.front();
  size_t best = 0;
  double best_gap = -1;
  for (size_t i = 0; i < n; ++i) {
    const double xn = static_cast<double>(i) / static_cast<double>(n - 1);
    const double yn = (v[i] - lo) / (hi - lo);
    const double gap = std::abs(xn - yn);  // ∝ distance to the chord y = x
    if (gap > best_gap) {
      best_gap = gap;
      best = i;
    }
  }
  return v[best];
}

float suggest_eps(MatrixRefF x, int k, bool normalize, int threads) {
  const float knee = knee_of_sorted(k_distances(x, k, normalize, threads));
  const auto raised = static_cast<float>(static_cast<double>(knee) * (1.0 + 1e-4));
  return knee > 0 ? raised : knee;
}

double decimal_value(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  double out = v;
  std::from_chars(buf, r.ptr, out);
  return out;
}

std::vector<float> eps_sweep(float top, int steps) {
  if (steps < 1) throw std::invalid_argument("eps_sweep: steps must be at least 1, got " + std::to_string(steps));
  std::vector<float> out;
  for (int s = 1; s < steps; ++s)
    out.push_back(std::min(top, static_cast<float>(static_cast<double>(top) * s / steps)));
  out.push_back(top);
  return out;
}

}  // namespace lumaflow
