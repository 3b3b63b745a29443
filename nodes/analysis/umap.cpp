// UMAP fit: validates the options and chains the fuzzy graph (umap_graph.cpp), the initial
// layout (umap_init.cpp) and the SGD (umap_sgd.cpp); transform is in umap_transform.cpp.
#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>

#include "nodes/analysis/umap_internal.hpp"

namespace lumaflow {
namespace umap_detail {
namespace {

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

}  // namespace

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

}  // namespace umap_detail

using namespace umap_detail;

namespace {

UmapModel fit(MatrixRefF x, const UmapOptions& opt, const KnnResult* given) {
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

  const int n_epochs = fit_epochs(opt, n);
  const SpMatF G = fuzzy_graph(x, opt, n_epochs, given);

  Rng rng(opt.seed);
  const int dim = opt.n_components;
  model.embedding = initial_layout(G, x, dim, rng);

  if (G.nonZeros() > 0 && n_epochs > 0) {
    const EdgeSchedule s = fit_schedule(G);
    // One thread on purpose: the update order is part of the result, and Hogwild-style parallel
    // SGD (umap-learn's) makes it depend on timing.
    float* y = model.embedding.data();
    run_optimise(y, y, n, dim, s, n_epochs, Curve{model.a, model.b, opt.repulsion_strength}, opt.learning_rate,
                 opt.negative_sample_rate, /*move_other=*/true, rng);
  }
  return model;
}

}  // namespace

UmapModel umap_fit(MatrixRefF x, const UmapOptions& opt) { return fit(x, opt, nullptr); }

UmapModel umap_fit(MatrixRefF x, const UmapOptions& opt, const KnnResult& neighbours) {
  if (neighbours.indices.rows() != x.rows() || neighbours.indices.cols() != opt.n_neighbors - 1 ||
      neighbours.distances.rows() != x.rows() || neighbours.distances.cols() != opt.n_neighbors - 1)
    throw std::invalid_argument(
        "umap_fit: the given kNN must hold n_neighbors - 1 = " + std::to_string(opt.n_neighbors - 1) +
        " neighbours of each of the " + std::to_string(x.rows()) + " points");
  if ((neighbours.indices.array() < 0).any() || (neighbours.indices.array() >= x.rows()).any())
    throw std::invalid_argument("umap_fit: the given kNN names a point outside the data");
  return fit(x, opt, &neighbours);
}

}  // namespace lumaflow
