#include "nodes/analysis/dbscan.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>

#include "nodes/analysis/dbscan_pairs.hpp"
#include "nodes/core/parallel.hpp"

namespace lumaflow {
namespace {

using namespace dbscan_pairs;

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

// The k-th smallest (0-based) exact squared distance among pairs (i, j) whose approximate values
// approx(visit) enumerates as visit(i, j, v), given the k-th smallest approximate value vk and a
// bound bmax on every pair's error: pairs below vk − 2·bmax are certainly below the answer and
// only counted, pairs above vk + 2·bmax certainly above it; the rest are re-ranked exactly.
template <class Src, class Enumerate>
double exact_kth(const Src& src, size_t k, double vk, double bmax, Enumerate&& approx) {
  size_t below = 0;
  std::vector<double> near;
  approx([&](Eigen::Index i, Eigen::Index j, double v) {
    if (v < vk - 2 * bmax)
      ++below;
    else if (v <= vk + 2 * bmax)
      near.push_back(i == j ? 0.0 : src.exact(i, j));
  });
  const size_t at = k - below;
  std::nth_element(near.begin(), near.begin() + static_cast<std::ptrdiff_t>(at), near.end());
  return near[at];
}

double max_sq(const Scaled& s) { return s.sq.empty() ? 0.0 : *std::max_element(s.sq.begin(), s.sq.end()); }

// A radius holding about max_pairs unordered pairs of scaled rows, from the exact distance
// distribution of up to 512 evenly spaced rows to all rows; +inf when every pair fits.
template <class Src>
float radius_for_pairs(const Src& src, int64_t max_pairs) {
  const Eigen::Index n = src.size();
  const Scaled& s = src.scaled();
  const double all_pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
  if (max_pairs <= 0 || all_pairs <= static_cast<double>(max_pairs)) return std::numeric_limits<float>::infinity();
  const Eigen::Index m = std::min<Eigen::Index>(n, 512);
  const auto sample = [&](Eigen::Index r) { return r * n / m; };
  std::vector<float> d2;
  d2.reserve(static_cast<size_t>(m * (n - 1)));
  // 64 sampled rows per product: one pass over x per block, not per row.
  constexpr Eigen::Index kRows = 64;
  for (Eigen::Index t0 = 0; t0 < m; t0 += kRows) {
    std::vector<Eigen::Index> idx;
    for (Eigen::Index r = t0; r < std::min(m, t0 + kRows); ++r) idx.push_back(sample(r));
    src.dots_of(idx, [&](const auto& g) {
      for (size_t r = 0; r < idx.size(); ++r) {
        const auto i = static_cast<size_t>(idx[r]);
        for (Eigen::Index j = 0; j < n; ++j)
          if (static_cast<size_t>(j) != i)
            d2.push_back(
                static_cast<float>(scaled_sq(s, i, static_cast<size_t>(j), g(static_cast<Eigen::Index>(r), j))));
      }
    });
  }
  const auto k = static_cast<size_t>(static_cast<double>(max_pairs) / all_pairs * static_cast<double>(d2.size()));
  float vk;
  {
    std::vector<float> sorted = d2;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
    vk = sorted[k];
  }
  const double e = exact_kth(src, k, vk, src.band() * 2 * max_sq(s), [&](auto&& visit) {
    size_t at = 0;
    for (Eigen::Index r = 0; r < m; ++r)
      for (Eigen::Index j = 0; j < n; ++j)
        if (j != sample(r)) visit(sample(r), j, static_cast<double>(d2[at++]));
  });
  const float r = std::sqrt(static_cast<float>(std::max(0.0, e)));
  return std::nextafter(r, 0.f) > 0 ? std::nextafter(r, 0.f) : r;
}

// mask[e] = 1 iff stored edge e is within eps, deciding pairs near the boundary exactly.
std::vector<uint8_t> within_mask(const detail::RadiusGraph& graph, const std::function<double(int32_t, int32_t)>& exact,
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
      const double band = graph.band * (si + graph.sq_norm[static_cast<size_t>(j)]);
      bool in;
      if (v < eps2 - band)
        in = true;
      else if (v > eps2 + band)
        in = false;
      else
        in = exact(static_cast<int32_t>(i), j) <= eps2;
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
// whose approximate squared distance v is <= limit2 + band, where band bounds v's error;
// worker is in [0, workers). Which pairs are visited does not depend on `workers`, the order
// does; within a worker, pairs come in blocks of ascending i.
template <class Src, class Visit>
void for_each_pair_within(const Src& src, double limit2, int workers, Visit&& visit) {
  const Eigen::Index n = src.size();
  const Scaled& s = src.scaled();
  const Eigen::Index B = block_rows_for(n), nb = (n + B - 1) / B;
  // Block b costs ∝ n − b·B; pairing the first with the last balances contiguous chunks.
  std::vector<Eigen::Index> order;
  for (Eigen::Index lo = 0, hi = nb - 1; lo <= hi; ++lo, --hi) {
    order.push_back(lo);
    if (lo != hi) order.push_back(hi);
  }
  parallel_chunks(workers, workers, [&](std::ptrdiff_t w0, std::ptrdiff_t w1) {
    for (std::ptrdiff_t w = w0; w < w1; ++w)
      for (Eigen::Index t = nb * w / workers; t < nb * (w + 1) / workers; ++t) {
        const Eigen::Index b0 = order[static_cast<size_t>(t)] * B, rows = std::min(B, n - b0);
        src.dots(b0, rows, b0, [&](const auto& g) {
          for (Eigen::Index r = 0; r < rows; ++r) {
            const auto i = static_cast<size_t>(b0 + r);
            for (Eigen::Index c = r + 1; c < n - b0; ++c) {
              const auto j = static_cast<size_t>(b0 + c);
              const double v = scaled_sq(s, i, j, g(r, c));
              const double band = src.band() * (s.sq[i] + s.sq[j]);
              if (v <= limit2 + band)
                visit(static_cast<int>(w), static_cast<int32_t>(i), static_cast<int32_t>(j), v, band);
            }
          }
        });
      }
  });
}

// The same, for pairs whose exact squared distance is <= eps2: visit(worker, i, j).
template <class Src, class Visit>
void for_each_close_pair(const Src& src, double eps2, int workers, Visit&& visit) {
  for_each_pair_within(src, eps2, workers, [&](int w, int32_t i, int32_t j, double v, double band) {
    if (v >= eps2 - band && src.exact(i, j) > eps2) return;
    visit(w, i, j);
  });
}

// Symmetric radius graph (CSR) of the pairs within max_eps2 plus
// the error band, with their approximate distances: exact decisions are made per eps later.
template <class Src>
detail::RadiusGraph build_graph(const Src& src, double max_eps2, int threads) {
  const Eigen::Index n = src.size();
  detail::RadiusGraph graph;
  graph.sq_norm.assign(src.scaled().sq.begin(), src.scaled().sq.end());
  graph.band = src.band();
  graph.offsets.assign(static_cast<size_t>(n) + 1, 0);
  if (n == 0) return graph;
  struct Pair {
    int32_t i, j;
    float sq;
  };
  const int workers = worker_count(n, threads);
  std::vector<std::vector<Pair>> found(static_cast<size_t>(workers));
  for_each_pair_within(src, max_eps2, workers, [&](int w, int32_t i, int32_t j, double v, double) {
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

template <class Src>
Labels dbscan_from(const Src& src, const DbscanOptions& opt) {
  check_eps(opt.eps, "dbscan");
  check_min_pts(opt.min_pts, "dbscan");
  const Eigen::Index n = src.size();
  if (n == 0) return {};
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
  for_each_close_pair(src, eps2, workers, [&](int w, int32_t i, int32_t j) {
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
    for_each_close_pair(src, eps2, workers, [&](int w, int32_t i, int32_t j) {
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

// The capped max_eps and the radius graph of a RadiusNeighborhoods.
template <class Src>
std::pair<float, detail::RadiusGraph> neighborhoods_from(const Src& src, float max_eps, int threads,
                                                         int64_t max_pairs) {
  check_eps(max_eps, "RadiusNeighborhoods");
  max_eps = std::min(max_eps, radius_for_pairs(src, max_pairs));
  const double e = decimal_value(max_eps);
  return {max_eps, build_graph(src, e * e, threads)};
}

template <class Src>
std::vector<float> k_distances_from(const Src& src, int k, int threads) {
  const Eigen::Index n = src.size();
  if (k < 1 || k > n)
    throw std::invalid_argument("k_distances: k=" + std::to_string(k) + " must be in [1, " + std::to_string(n) + "]");
  const Scaled& s = src.scaled();
  const double sq_max = max_sq(s);
  std::vector<float> out(static_cast<size_t>(n));
  const Eigen::Index B = block_rows_for(n), nb = (n + B - 1) / B;
  // Contiguous runs of whole blocks per thread: block shapes (hence GEMM rounding) and the exact
  // refinement below make the result independent of the thread count.
  parallel_chunks(nb, threads, [&](std::ptrdiff_t bb, std::ptrdiff_t be) {
    std::vector<double> row(static_cast<size_t>(n)), sorted(static_cast<size_t>(n));
    for (std::ptrdiff_t blk = bb; blk < be; ++blk) {
      const Eigen::Index r0 = blk * B, rows = std::min(B, n - r0);
      src.dots(r0, rows, 0, [&](const auto& g) {
        for (Eigen::Index r = 0; r < rows; ++r) {
          const auto i = static_cast<size_t>(r0 + r);
          for (Eigen::Index j = 0; j < n; ++j)
            row[static_cast<size_t>(j)] = scaled_sq(s, i, static_cast<size_t>(j), g(r, j));
          row[i] = 0.0;
          sorted = row;
          std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end());
          // The exact k-th distance², the point itself counting as 0; only the pairs within
          // twice the error band of the approximate k-th are computed exactly.
          const double d2 = exact_kth(src, static_cast<size_t>(k - 1), sorted[static_cast<size_t>(k - 1)],
                                      src.band() * (s.sq[i] + sq_max), [&](auto&& visit) {
                                        for (Eigen::Index j = 0; j < n; ++j)
                                          visit(static_cast<Eigen::Index>(i), j, row[static_cast<size_t>(j)]);
                                      });
          // Rounded up to the next float, so that eps = this value still counts the k-th
          // neighbour in (a round-to-nearest float can fall just below the exact distance).
          const double d = std::sqrt(std::max(0.0, d2));
          float f = static_cast<float>(d);
          if (static_cast<double>(f) < d) f = std::nextafter(f, std::numeric_limits<float>::infinity());
          out[i] = f;
        }
      });
    }
  });
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Labels dbscan(MatrixRefF x, const DbscanOptions& opt) { return dbscan_from(RowPairs(x, opt.normalize), opt); }

Labels dbscan(const GramInput& g, const DbscanOptions& opt) { return dbscan_from(GramPairs(g, opt.normalize), opt); }

RadiusNeighborhoods::RadiusNeighborhoods(MatrixRefF x, float max_eps, bool normalize, int threads, int64_t max_pairs)
    : max_eps_(max_eps), requested_max_eps_(max_eps), threads_(threads) {
  // A copy of x, kept for the exact re-decisions near each eps.
  auto data = std::make_shared<const RowMatrixF>(x);
  auto src = std::make_shared<const RowPairs>(*data, normalize);
  std::tie(max_eps_, graph_) = neighborhoods_from(*src, max_eps, threads, max_pairs);
  exact_ = [data, src](int32_t i, int32_t j) { return src->exact(i, j); };
}

RadiusNeighborhoods::RadiusNeighborhoods(const GramInput& g, float max_eps, bool normalize, int threads,
                                         int64_t max_pairs)
    : max_eps_(max_eps), requested_max_eps_(max_eps), threads_(threads) {
  auto src = std::make_shared<const GramPairs>(g, normalize);
  std::tie(max_eps_, graph_) = neighborhoods_from(*src, max_eps, threads, max_pairs);
  exact_ = [src](int32_t i, int32_t j) { return src->exact(i, j); };
}

std::vector<uint8_t> RadiusNeighborhoods::within(float eps) const {
  check_eps(eps, "RadiusNeighborhoods");
  if (eps > max_eps_)
    throw std::invalid_argument("RadiusNeighborhoods: eps " + std::to_string(eps) + " exceeds max_eps " +
                                std::to_string(max_eps_));
  return within_mask(graph_, exact_, eps, threads_);
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
  return k_distances_from(RowPairs(x, normalize), k, threads);
}

std::vector<float> k_distances(const GramInput& g, int k, bool normalize, int threads) {
  return k_distances_from(GramPairs(g, normalize), k, threads);
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

namespace {
float knee_eps(const std::vector<float>& k_dist) {
  const float knee = knee_of_sorted(k_dist);
  const auto raised = static_cast<float>(static_cast<double>(knee) * (1.0 + 1e-4));
  return knee > 0 ? raised : knee;
}
}  // namespace

float suggest_eps(MatrixRefF x, int k, bool normalize, int threads) {
  return knee_eps(k_distances(x, k, normalize, threads));
}

float suggest_eps(const GramInput& g, int k, bool normalize, int threads) {
  return knee_eps(k_distances(g, k, normalize, threads));
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
