#include "nodes/analysis/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>

#include "nodes/analysis/knn.hpp"
#include "nodes/core/distance.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/core/random.hpp"

namespace lumaflow {
namespace {

__extension__ typedef __int128 Int128;  // sklearn does these products in Python's exact ints

// Bound on |GEMM squared distance − exact| relative to ‖a‖² + ‖b‖² (see nodes/dbscan.cpp: the
// worst seen on 16384-d faces was 5e-6, this keeps a 20× margin).
constexpr double kBand = 1e-4;

void check_sizes(const Labels& a, const Labels& b, const char* who) {
  if (a.size() != b.size())
    throw std::invalid_argument(std::string(who) + ": label vectors differ in length (" + std::to_string(a.size()) +
                                " vs " + std::to_string(b.size()) + ")");
}

// Dense ids 0..c−1 for the distinct values, in ascending value order (np.unique).
std::vector<int> dense_ids(const Labels& y, int& count) {
  std::vector<int> values(y);
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  count = static_cast<int>(values.size());
  std::vector<int> ids(y.size());
  for (size_t i = 0; i < y.size(); ++i)
    ids[i] = static_cast<int>(std::lower_bound(values.begin(), values.end(), y[i]) - values.begin());
  return ids;
}

// Non-zero cells of the contingency table, row-major (truth, pred), with the marginals.
struct Contingency {
  int rows = 0, cols = 0;
  std::vector<int64_t> row_sum, col_sum;
  std::vector<int> cell_row, cell_col;
  std::vector<int64_t> cell;
};

Contingency contingency(const Labels& truth, const Labels& pred) {
  Contingency c;
  const std::vector<int> a = dense_ids(truth, c.rows), b = dense_ids(pred, c.cols);
  std::map<std::pair<int, int>, int64_t> cells;
  for (size_t i = 0; i < a.size(); ++i) ++cells[{a[i], b[i]}];
  c.row_sum.assign(static_cast<size_t>(c.rows), 0);
  c.col_sum.assign(static_cast<size_t>(c.cols), 0);
  for (const auto& [rc, v] : cells) {
    c.cell_row.push_back(rc.first);
    c.cell_col.push_back(rc.second);
    c.cell.push_back(v);
    c.row_sum[static_cast<size_t>(rc.first)] += v;
    c.col_sum[static_cast<size_t>(rc.second)] += v;
  }
  return c;
}

double entropy(const Labels& y) {
  if (y.empty()) return 1.0;  // sklearn's convention
  int count = 0;
  const std::vector<int> ids = dense_ids(y, count);
  if (count == 1) return 0.0;
  std::vector<double> pi(static_cast<size_t>(count), 0.0);
  for (int id : ids) pi[static_cast<size_t>(id)] += 1;
  const double sum = static_cast<double>(y.size()), log_sum = std::log(sum);
  double h = 0;
  for (double p : pi) h -= (p / sum) * (std::log(p) - log_sum);
  return h;
}

// Calls fn(i, row) for every row i of x with row = GEMM squared distances from i to all rows.
// Threads take contiguous runs of whole blocks of a size fixed by n, so each distance is the
// same for any thread count; fn runs concurrently for different i.
template <class Fn>
void for_each_distance_row(MatrixRefF x, int threads, Fn&& fn) {
  const Eigen::Index n = x.rows();
  const Eigen::Index B = std::clamp<Eigen::Index>((n / 16 + 7) / 8 * 8, 32, 256);
  const Eigen::Index nb = (n + B - 1) / B;
  parallel_chunks(nb, threads, [&](std::ptrdiff_t bb, std::ptrdiff_t be) {
    const Eigen::Index r0 = bb * B, r1 = std::min<Eigen::Index>(be * B, n);
    for_each_distance_block(x.middleRows(r0, r1 - r0), x, static_cast<int>(B),
                            [&](Eigen::Index b, const RowMatrixF& blk) {
                              for (Eigen::Index r = 0; r < blk.rows(); ++r) fn(r0 + b + r, blk.row(r).data());
                            });
  });
}

// The k nearest other rows of every row by exact double distance (ties: smaller index), as an
// n×k row-major index list. GEMM picks the candidates: every true k-nearest has GEMM distance²
// within 2·band of the k-th smallest GEMM value, and only those are measured exactly.
std::vector<int32_t> exact_neighbors(MatrixRefF x, int k, int threads) {
  const Eigen::Index n = x.rows();
  const Eigen::VectorXf sq = squared_norms(x);
  const double sq_max = n ? sq.maxCoeff() : 0.0;
  std::vector<int32_t> out(static_cast<size_t>(n) * static_cast<size_t>(k));
  for_each_distance_row(x, threads, [&](Eigen::Index i, const float* row) {
    std::vector<float> others;
    others.reserve(static_cast<size_t>(n));
    for (Eigen::Index j = 0; j < n; ++j)
      if (j != i) others.push_back(row[j]);
    std::nth_element(others.begin(), others.begin() + (k - 1), others.end());
    const double limit = others[static_cast<size_t>(k - 1)] + 2 * kBand * (sq(i) + sq_max);
    std::vector<std::pair<double, int32_t>> cand;
    for (Eigen::Index j = 0; j < n; ++j)
      if (j != i && row[j] <= limit) cand.push_back({squared_l2_double(x, i, j), static_cast<int32_t>(j)});
    std::partial_sort(cand.begin(), cand.begin() + k, cand.end());
    for (int t = 0; t < k; ++t)
      out[static_cast<size_t>(i) * static_cast<size_t>(k) + static_cast<size_t>(t)] =
          cand[static_cast<size_t>(t)].second;
  });
  return out;
}

// Members of each label value, ascending by value, each list ascending by index.
std::map<int, std::vector<int>> groups(const Labels& y) {
  std::map<int, std::vector<int>> g;
  for (size_t i = 0; i < y.size(); ++i) g[y[i]].push_back(static_cast<int>(i));
  return g;
}

}  // namespace

int cluster_count(const Labels& clusters) {
  Labels v;
  for (int c : clusters)
    if (c >= 0) v.push_back(c);
  std::sort(v.begin(), v.end());
  return static_cast<int>(std::unique(v.begin(), v.end()) - v.begin());
}

double noise_fraction(const Labels& clusters) {
  if (clusters.empty()) return 0.0;
  return static_cast<double>(std::count(clusters.begin(), clusters.end(), -1)) / static_cast<double>(clusters.size());
}

double adjusted_rand_index(const Labels& truth, const Labels& pred) {
  check_sizes(truth, pred, "adjusted_rand_index");
  const Contingency c = contingency(truth, pred);
  const auto n = static_cast<int64_t>(truth.size());
  // Pair-confusion counts (ordered pairs, so each unordered pair counts twice), as sklearn's
  // pair_confusion_matrix.
  Int128 sum_squares = 0, dot_cols = 0, dot_rows = 0;
  for (size_t e = 0; e < c.cell.size(); ++e) {
    const Int128 v = c.cell[e];
    sum_squares += v * v;
    dot_cols += v * c.col_sum[static_cast<size_t>(c.cell_col[e])];
    dot_rows += v * c.row_sum[static_cast<size_t>(c.cell_row[e])];
  }
  const Int128 tp = sum_squares - n, fp = dot_cols - sum_squares, fn = dot_rows - sum_squares;
  const Int128 tn = Int128(n) * n - fp - fn - sum_squares;
  if (fn == 0 && fp == 0) return 1.0;
  const Int128 num = tp * tn - fn * fp;
  const Int128 den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return 2.0 * static_cast<double>(num) / static_cast<double>(den);
}

double normalized_mutual_info(const Labels& truth, const Labels& pred) {
  check_sizes(truth, pred, "normalized_mutual_info");
  const Contingency c = contingency(truth, pred);
  if ((c.rows == 1 && c.cols == 1) || (c.rows == 0 && c.cols == 0)) return 1.0;
  if (c.rows == 1 || c.cols == 1) return 0.0;  // mutual information of a constant labelling
  const double total = static_cast<double>(truth.size()), log_total = std::log(total);
  double mi = 0;
  for (size_t e = 0; e < c.cell.size(); ++e) {
    const double v = static_cast<double>(c.cell[e]);
    const double nm = v / total;
    const double outer = static_cast<double>(c.row_sum[static_cast<size_t>(c.cell_row[e])] *
                                             c.col_sum[static_cast<size_t>(c.cell_col[e])]);
    const double log_outer = -std::log(outer) + log_total + log_total;
    double term = nm * (std::log(v) - log_total) + nm * log_outer;
    if (std::abs(term) < std::numeric_limits<double>::epsilon()) term = 0;  // as sklearn
    mi += term;
  }
  mi = std::max(0.0, mi);
  if (mi == 0) return 0.0;
  return mi / ((entropy(truth) + entropy(pred)) / 2);
}

double purity(const Labels& truth, const Labels& pred) {
  check_sizes(truth, pred, "purity");
  if (truth.empty()) return 1.0;
  const Contingency c = contingency(truth, pred);
  std::vector<int64_t> best(static_cast<size_t>(c.cols), 0);
  for (size_t e = 0; e < c.cell.size(); ++e) {
    auto& b = best[static_cast<size_t>(c.cell_col[e])];
    b = std::max(b, c.cell[e]);
  }
  int64_t sum = 0;
  for (int64_t b : best) sum += b;
  return static_cast<double>(sum) / static_cast<double>(truth.size());
}

namespace {

// sklearn's normalisation of the summed rank penalties (rank − k, over each point's k low-space
// neighbours), in the point order (a fixed sum: thread-count independent).
double trust_from_penalties(const std::vector<int64_t>& penalty, int k) {
  int64_t total = 0;
  for (int64_t p : penalty) total += p;
  const double nd = static_cast<double>(penalty.size()), kd = k;
  return 1.0 - static_cast<double>(total) * (2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0)));
}

}  // namespace

double trustworthiness(MatrixRefF high, MatrixRefF low, int k, int threads) {
  const Eigen::Index n = high.rows();
  if (low.rows() != n)
    throw std::invalid_argument("trustworthiness: " + std::to_string(n) + " high-dimensional points but " +
                                std::to_string(low.rows()) + " low-dimensional ones");
  if (k < 1 || 2.0 * k >= static_cast<double>(n))
    throw std::invalid_argument("trustworthiness: k=" + std::to_string(k) +
                                " must be >= 1 and < n/2 = " + std::to_string(static_cast<double>(n) / 2));
  const std::vector<int32_t> low_nn = exact_neighbors(low, k, threads);
  const Eigen::VectorXf sq = squared_norms(high);
  std::vector<int64_t> penalty(static_cast<size_t>(n), 0);
  for_each_distance_row(high, threads, [&](Eigen::Index i, const float* row) {
    std::vector<double> exact(static_cast<size_t>(n), -1.0);  // lazily filled exact distances²
    auto exact_at = [&](Eigen::Index m) {
      double& e = exact[static_cast<size_t>(m)];
      if (e < 0) e = squared_l2_double(high, i, m);
      return e;
    };
    int64_t p = 0;
    for (int t = 0; t < k; ++t) {
      const Eigen::Index j = low_nn[static_cast<size_t>(i) * static_cast<size_t>(k) + static_cast<size_t>(t)];
      const double vj = row[j], ej_band = kBand * (sq(i) + sq(j));
      // Rank of j among i's neighbours in the high space, 1-based, self excluded.
      int64_t rank = 1;
      for (Eigen::Index m = 0; m < n; ++m) {
        if (m == i || m == j) continue;
        const double vm = row[m], band = ej_band + kBand * (sq(i) + sq(m));
        bool before;
        if (vm < vj - band)
          before = true;
        else if (vm > vj + band)
          before = false;
        else {
          const double em = exact_at(m), ej = exact_at(j);
          before = em < ej || (em == ej && m < j);
        }
        rank += before;
      }
      p += std::max<int64_t>(0, rank - k);
    }
    penalty[static_cast<size_t>(i)] = p;
  });
  return trust_from_penalties(penalty, k);
}

double loo_1nn_accuracy(MatrixRefF x, const Labels& y, int threads) {
  if (static_cast<size_t>(x.rows()) != y.size())
    throw std::invalid_argument("loo_1nn_accuracy: " + std::to_string(x.rows()) + " points but " +
                                std::to_string(y.size()) + " labels");
  std::vector<int> keep;
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i] >= 0) keep.push_back(static_cast<int>(i));
  const auto n = static_cast<Eigen::Index>(keep.size());
  if (n < 2) throw std::invalid_argument("loo_1nn_accuracy: needs at least two labelled points");
  RowMatrixF xs(n, x.cols());
  for (Eigen::Index i = 0; i < n; ++i) xs.row(i) = x.row(keep[static_cast<size_t>(i)]);
  const std::vector<int32_t> nearest = exact_neighbors(xs, 1, threads);
  std::vector<uint8_t> hit(static_cast<size_t>(n), 0);
  for (Eigen::Index i = 0; i < n; ++i)
    hit[static_cast<size_t>(i)] = y[static_cast<size_t>(keep[static_cast<size_t>(i)])] ==
                                  y[static_cast<size_t>(keep[static_cast<size_t>(nearest[static_cast<size_t>(i)])])];
  int64_t hits = 0;
  for (uint8_t h : hit) hits += h;
  return static_cast<double>(hits) / static_cast<double>(n);
}

double trustworthiness_gram(const Eigen::MatrixXd& gram, MatrixRefF low, int k, int threads) {
  const Eigen::Index n = gram.rows();
  if (gram.cols() != n || low.rows() != n)
    throw std::invalid_argument("trustworthiness_gram: a " + std::to_string(n) + " × " + std::to_string(n) +
                                " Gram matrix and as many low-dimensional points needed, got " +
                                std::to_string(gram.cols()) + " columns and " + std::to_string(low.rows()) + " points");
  if (k < 1 || 2.0 * k >= static_cast<double>(n))
    throw std::invalid_argument("trustworthiness_gram: k=" + std::to_string(k) +
                                " must be >= 1 and < n/2 = " + std::to_string(static_cast<double>(n) / 2));
  const std::vector<int32_t> low_nn = exact_neighbors(low, k, threads);
  std::vector<int64_t> penalty(static_cast<size_t>(n), 0);
  parallel_for(n, threads, [&](std::ptrdiff_t i) {
    std::vector<double> d(static_cast<size_t>(n));
    for (Eigen::Index m = 0; m < n; ++m) d[static_cast<size_t>(m)] = gram_squared_l2(gram, i, m);
    int64_t p = 0;
    for (int t = 0; t < k; ++t) {
      const Eigen::Index j = low_nn[static_cast<size_t>(i) * static_cast<size_t>(k) + static_cast<size_t>(t)];
      const double dj = d[static_cast<size_t>(j)];
      int64_t rank = 1;  // of j among i's high-space neighbours, 1-based, self excluded
      for (Eigen::Index m = 0; m < n; ++m) {
        if (m == i || m == j) continue;
        const double dm = d[static_cast<size_t>(m)];
        rank += dm < dj || (dm == dj && m < j);
      }
      p += std::max<int64_t>(0, rank - k);
    }
    penalty[static_cast<size_t>(i)] = p;
  });
  return trust_from_penalties(penalty, k);
}

double loo_1nn_accuracy_gram(const Eigen::MatrixXd& gram, const Labels& y, int threads) {
  if (gram.rows() != gram.cols() || static_cast<size_t>(gram.rows()) != y.size())
    throw std::invalid_argument("loo_1nn_accuracy_gram: " + std::to_string(gram.rows()) + " points but " +
                                std::to_string(y.size()) + " labels");
  std::vector<Eigen::Index> keep;
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i] >= 0) keep.push_back(static_cast<Eigen::Index>(i));
  const auto n = static_cast<Eigen::Index>(keep.size());
  if (n < 2) throw std::invalid_argument("loo_1nn_accuracy_gram: needs at least two labelled points");
  std::vector<uint8_t> hit(static_cast<size_t>(n), 0);
  parallel_for(n, threads, [&](std::ptrdiff_t a) {
    const Eigen::Index i = keep[static_cast<size_t>(a)];
    Eigen::Index best = -1;
    double best_d = std::numeric_limits<double>::infinity();
    for (Eigen::Index j : keep) {  // ascending: a tie keeps the smaller index
      if (j == i) continue;
      const double d = gram_squared_l2(gram, i, j);
      if (d < best_d) best_d = d, best = j;
    }
    hit[static_cast<size_t>(a)] = y[static_cast<size_t>(i)] == y[static_cast<size_t>(best)];
  });
  int64_t hits = 0;
  for (uint8_t h : hit) hits += h;
  return static_cast<double>(hits) / static_cast<double>(n);
}

std::vector<int> stratified_folds(const Labels& y, int k, uint64_t seed) {
  if (k < 2 || static_cast<size_t>(k) > y.size())
    throw std::invalid_argument("stratified_folds: k=" + std::to_string(k) + " must be in [2, " +
                                std::to_string(y.size()) + "]");
  std::mt19937_64 g(seed);
  std::vector<int> fold(y.size(), -1);
  int next = 0;
  for (auto& [label, members] : groups(y)) {
    shuffle(members, g);
    for (int i : members) {
      fold[static_cast<size_t>(i)] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

Split stratified_holdout(const Labels& y, int test_per_class, uint64_t seed) {
  if (test_per_class < 0) throw std::invalid_argument("stratified_holdout: test_per_class must be >= 0");
  std::mt19937_64 g(seed);
  Split s;
  for (auto& [label, members] : groups(y)) {
    if (label < 0) continue;
    shuffle(members, g);
    const size_t t = std::min<size_t>(static_cast<size_t>(test_per_class), members.size() - 1);
    s.test.insert(s.test.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(t));
    s.train.insert(s.train.end(), members.begin() + static_cast<std::ptrdiff_t>(t), members.end());
  }
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.test.begin(), s.test.end());
  return s;
}

}  // namespace lumaflow
