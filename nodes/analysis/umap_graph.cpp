// UMAP's fuzzy simplicial set: kNN with the point itself, per-row smooth-kNN calibration,
// and the symmetrised membership graph (see umap_internal.hpp).
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "nodes/analysis/ann.hpp"
#include "nodes/analysis/umap_internal.hpp"
#include "nodes/core/parallel.hpp"

namespace lumaflow {
namespace {

constexpr double kSmoothKTolerance = 1e-5;
constexpr double kMinKDistScale = 1e-3;
constexpr int kSmoothKIterations = 64;

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

}  // namespace

namespace umap_detail {

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

SpMatF fuzzy_graph(MatrixRefF x, const UmapOptions& opt, int n_epochs, const KnnResult* given) {
  const Eigen::Index n = x.rows();
  const int k = opt.n_neighbors;
  // kNN with the point itself in column 0 at distance exactly 0 (GEMM distances would leave a
  // rounding residue there, which smooth_knn would take for rho).
  KnnResult others = given                                 ? *given
                     : n <= 4096 && n <= opt.exact_knn_max ? small_self_knn(x, k - 1, opt.threads)
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

  if (G.nonZeros() > 0 && n_epochs > 0) {
    // Edges too weak to be sampled even once in n_epochs are dropped (umap-learn does the same).
    const float wmax = Eigen::Map<const Eigen::VectorXf>(G.valuePtr(), G.nonZeros()).maxCoeff();
    const float cut = wmax / static_cast<float>(n_epochs);
    G.prune([cut](int32_t, int32_t, float v) { return v >= cut; });
  }
  G.makeCompressed();

  return G;
}

}  // namespace umap_detail

SmoothKnn smooth_knn_dist(const RowMatrixF& distances, float k, float local_connectivity, double mean_all_distances,
                          int threads) {
  const Eigen::Index n = distances.rows();
  const int cols = static_cast<int>(distances.cols());
  SmoothKnn out;
  out.sigma.resize(static_cast<size_t>(n));
  out.rho.resize(static_cast<size_t>(n));
  const double target = std::log2(static_cast<double>(k));
  parallel_for(n, threads, [&](std::ptrdiff_t i) {
    umap_detail::smooth_row(distances.row(i).data(), cols, target, local_connectivity, mean_all_distances,
                            out.sigma[static_cast<size_t>(i)], out.rho[static_cast<size_t>(i)]);
  });
  return out;
}

}  // namespace lumaflow
