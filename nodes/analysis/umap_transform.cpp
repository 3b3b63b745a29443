// UMAP transform: places new points with the training layout frozen, each row on its own
// (kNN against the training points, its own RNG from the row's bytes), see umap.hpp.
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

#include "nodes/analysis/umap_internal.hpp"
#include "nodes/core/distance.hpp"
#include "nodes/core/parallel.hpp"

namespace lumaflow {
namespace {

using namespace umap_detail;

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
